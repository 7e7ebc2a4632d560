use super::*;

#[test]
fn attacks_match() {
    let attacks = [
        "' OR 1=1",
        "' or '1'='1",
        "admin' --",
        "admin'#",
        "admin')-- -",
        "1 OR 1=1",
        "1' AND 1=2 UNION SELECT null, username, password FROM users--",
        "-1 UNION ALL SELECT 1,2,3",
        "1 union select @@version",
        "x' UNION SELECT table_name FROM information_schema.tables#",
        "1; DROP TABLE users",
        "'; EXEC xp_cmdshell('dir')--",
        "1' AND SLEEP(5)#",
        "1 AND BENCHMARK(5000000,MD5(1))",
        "'; WAITFOR DELAY '0:0:5'--",
        "1) OR pg_sleep(5)--",
        "sleep(5)",
        "1 AND (SELECT COUNT(*) FROM users) > 0",
        "' AND extractvalue(1,concat(0x7e,version()))--",
        "1' ORDER BY 3--",
        "1 UN/**/ION SEL/**/ECT 1,2",
        "1 UNION/**/SELECT 1,2",
        "1 /*!50000UNION*/ /*!50000SELECT*/ 1,2",
        "\" or \"\"=\"",
        "' OR 'x'='x",
        "1' || '1'='1",
        "' AND 1=CONVERT(int,@@version)--",
        "x' INTO OUTFILE '/var/www/shell.php",
        "1;SELECT pg_sleep(5)",
        "' or true--",
        "admin' #",
        "x\" or \"x",
        "1; exec master..xp_cmdshell 'dir'",
        "1; EXEC sp_executesql N'select 1'",
        "72 AND ASCII(SUBSTRING((select version()),1,1))=x/*",
        "6 and substring(version(),1,1)=3",
        "'-'",
        "' or ''-'",
        "'*'",
        "aa'|!'aa",
        "' REGEXP '",
        "AnD SLEEP(5)#",
        " AND 7300=7300 AND ('pKlZ'='pKlZ",
        " OR x=x-- ",
        " ( 1 OR COS ( BINARY ( 'b')) )  --",
        " ORDER BY 23-- ",
        "'=0-- ",
        // sqlmap's `[RANDNUM]=[RANDNUM]` inside its templates.
        "(4605=4605)*1",
        "(CASE WHEN 7908=7908 THEN 1 ELSE NULL END)",
        "IIF(2027=2027,1,1/0)",
        "MAKE_SET(3611=3611,8783)",
        "test' HAVING 2059=2059 OR 'mfcN'='vayn",
        "1))) OR NOT 5741=5741#",
        "('qtheq'||(CASE WHEN (1322=1322) THEN '1' ELSE '0' END)||'qfonq')",
        "(SELECT (CASE WHEN ('abc'='abc') THEN 1 ELSE 0 END))",
        // ORDER BY after the parentheses a boundary closes.
        "1')) ORDER BY 5-- EuoU",
        "1\") ORDER BY 8#",
        // Stacked procedure calls and PL/SQL blocks.
        "1;CALL REGEXP_SUBSTRING(REPEAT(RIGHT(CHAR(9757),0),500000000),NULL)--",
        "abc';BEGIN DBMS_LOCK.SLEEP(5); END--",
        // The input's quote, then the `)` closing the query's parentheses.
        "') or ('1'='1",
        "\")) or true--",
        // Group conditions and sort keys.
        "' HAVING 1=0#",
        "' group by userid having 1=1--",
        "ORDER BY SLEEP(5)",
        // Numbers glued to keywords, `#...` comments to the end of a line as spaces.
        "86UNION SELECT 1 LIMIT 1,1/*",
        "-5661union select 1, version(),3,4 -- ",
        "-1#aaaaa\n union (select id from users limit 1,1)",
        "1#xyz\nAND#xyz\n4523=4523",
        // Each side of the comparison in parentheses; `--+`, a URL's `-- `.
        "') or ('x')=('x",
        "\")) or ((\"x\"))=((\"x",
        "1 OR (1)=(1)",
        "1' ORDER BY 1--+",
        // A call compared inside parentheses, after a number or the input's quote.
        "15 and (ascii(substring(VERSION(),1,1))=51)/*",
        "23698 and((ascii(substring(user(),1,1)))>1)",
        "560 and (substring(version(),1,1))=5",
        "12) and (substring(version(),1,1)=5",
        "20'and(substring(version(),1,1))=4-- ",
        "2511 and (version() like 0x3325)",
        // MySQL's duplicate-key error templates.
        "0 or 1 group by concat(version(),floor(rand(0)*2))having min(0) -- ",
        "1603 or 1 group by concat((select version()),rand(0)|0) having min(0)",
        "-1 or(1,1)=(select count(0),concat((select concat_ws(0x3a,user(),database(),version()) from information_schema.tables limit 125,1),floor(rand(0)*2))",
        "64 and(1)=1#",
        "foo' and (1+2+3+4+5+6)=7*3--",
        "foo' and 1+2+3+4+5+6=(7*3)--",
        " AND 5650=CONVERT(INT,(UNION ALL SELECTCHAR(88)+CHAR(88)))-- ",
        "t'exec master..xp_cmdshell 'nslookup www.example.com'--",
        "-1 order by 1,2,3,4,5,6--",
        "1' ORDER BY 1,2,3--+",
        "1 GROUP BY 1 HAVING '1' = 1",
    ];
    let missed: Vec<_> = attacks.iter().filter(|a| check(a).is_none()).collect();
    // UN/**/ION with the comment inside the keyword is not valid SQL and is not an attack.
    assert_eq!(missed, [&"1 UN/**/ION SEL/**/ECT 1,2"], "missed attacks");
}

#[test]
fn benign_text_does_not_match() {
    let benign = [
        "O'Brien",
        "Shaquille O'Neal and D'Angelo",
        "select your favourite colour",
        "Join the union; select a committee",
        "the union select committee meets on monday",
        "Tom & Jerry or Bugs Bunny",
        "it's 1 or 2 days",
        "rock 'n' roll",
        "Please drop by the office; update me later",
        "order by price",
        "I'd like to order by phone",
        "SELECT * FROM the menu? no thanks",
        "5 - 3 = 2",
        "why is 1=1 true?",
        "email@example.com",
        "'quoted' text here",
        "\"The Union\" — a novel",
        "sleep well",
        "We had a benchmark (2019) run",
        "coffee; and cake",
        "2024-01-01",
        "Mc'Donald's -- best fries",
        "x < 3 and y > 2",
        "don't -- really",
        "7\" #2 CIRCULAR NEEDLE",
        "\"#2 MOM\"",
        "BAMBOO CHARCOAL SOAP 1 '#",
        "FOO BAR'# BLAH",
        "'countdown calendar\" and \"disney:",
        "select 'and'",
        "1; exec will create the case 7",
        "it's 5 and count(items) > 3",
        "rock 'n' roll",
        "'-' marks a gap",
        "O'Brien-'s",
        "'-\"8",
        "MISTERGLAS.DK'*'''''''''''''''''''''''''''''''''",
        "5 > 3 and 2 < 4",
        "if 10 > 3 or 2 = 2 then",
        "and 5 = 3 + 2, or so they say",
        "(see above) -- John",
        "order by 4 pm",
        "See systemd.preset(5) and \"First Boot Semantics\" in machine-id(5).",
        "'#'        #  0x23 -> NUMBER SIGN, left-right",
        "CREATE TABLE t (id int);\nALTER TABLE t ADD c int;",
        "SELECT 1 AS a\nUNION ALL\nSELECT 2",
        "Use WHERE 1=1 to build the filter",
        "the test (2=3) fails",
        "when x=x the loop ends",
        "(10=12) is false in the proof",
        "if (a == b) return",
        "(id=42)",
        "base64 abc== and def==",
        "Please call me; call support (555) 0100",
        "Ok; begin the migration tomorrow",
        "see chapter 3) ORDER BY name",
        "# Title\nselect a colour and 3 or 4 sizes",
        "100mb or 200mb",
        "a 10or so",
        "0xand",
        "') or (see below)",
        "having 3 > 2 kids",
        "order by sleep",
        "if x > 0 and (len(items)) > 3:",
        "pick (1) or (2) of the options",
        "score (3) = (4) points",
        "Ayn Rand (1905) * 2 books",
        "x = rand(10) * 5",
        "random = rand(0) + offset",
        "(select one of the options below)",
        "and (for example) = done",
        "--+ separator line +--",
        "Rock 'n' roll and 1+1=2 is math",
        "it's 2 and (3)",
        "disable xp_cmdshell in production",
        "union selectchar",
        "order by 1, 2 or 3 items",
        "sort: order by 1,2,3 then price",
        "group by 2 having fun",
    ];
    for b in benign {
        assert_eq!(check(b), None, "{b}");
    }
}

#[test]
fn fragment_quotes_the_match() {
    let m = check("id=1' OR 1=1 -- and more").unwrap();
    assert_eq!(m.rule, "sqli:tautology");
    assert!(m.fragment.contains("OR 1=1"), "{m:?}");
}

/// The value read as one expression (`expression`), the lexer's MSSQL readings (control
/// bytes as spaces, `--xyz` to the end of a line) and keywords glued to a number's
/// exponent or suffix.
#[test]
fn whole_expressions_match() {
    for a in [
        "aa'or column*0='0",
        "1'*@a is null - '",
        "aa'or column DIV 0 =0 #",
        " aa'^0+0+1-1 = (0)-- -a",
        "'||utl_http.request('httP://192.168.1.1/')||'",
        "1'*column-0-'0",
        " ( COS ( BINARY ( 'b')) )  --",
        " ( ( @a ) )  --",
        " ( 'a' ) in ( BINARY ( 'b') )  --",
        "1 * 1 /*",
        "@@version--",
        "417652--",
        "select sin(1),2 from bar where",
        "select @version,(2),3 from information_schema.tables where",
        "1--PTTmJopxdWJ\nAND--cWfcVRPV\n9227=9227",
        "1\u{1}UNION\u{2}SELECT\u{3}2--",
        "1e0UNION SELECT 2",
        "1.e0UNION SELECT 2",
        "-1fUNION SELECT column_name FROM table_name",
    ] {
        assert!(check(a).is_some(), "missed {a:?}");
    }
    for b in [
        "from=\"!host1,!host2,*\"",
        "read_config_file(\"/etc/gitweb-gitolite.conf\");",
        "XDG_DATA_DIRS=\"/opt/foo/share:${XDG_DATA_DIRS}\"",
        "r'|list|clr|cmd|open|close|get#?', Keyword.Reserved),",
        "\"NOT ON FACEBOOK\"",
        "'or else'",
        "4'+X+4'+WOOD",
        "48\"+X+48\"+MODERN+ART",
        "it's 5 - don't",
        "Bob's and Alice's",
        "(see above) --",
        "(see foo(1)) -- x",
        "(1) -- first item",
        "1990 -- 2001",
        "1611-IioXXIG1ti8rspL2vbXFy--",
        "1,1--",
        "@bob -- thanks",
        "3 days --",
        "select the best option from the list where",
        "Select one from each where",
        "SELECT * FROM films WHERE kind = 'Drama';",
        "use --verbose\nthen run it",
        "1e5 or so",
        "3d or 4d movies",
    ] {
        assert_eq!(check(b), None, "{b:?}");
    }
}

/// A condition as the whole value, comparisons in two words, and the stacked statements
/// of MSSQL and MySQL that open with a modifier or a block.
#[test]
fn conditions_and_statements_match() {
    for a in [
        " AND 1=0",
        " OR 1=0#",
        "HOPE AND 8=3",
        "HOPE AND (8)=(3)",
        " HAVING 1=0-- ",
        "PHPX AND 1=1 AND XX=X",
        " AND 7506=9091 AND ('5913=5913",
        "1 and 1 not between 0 and 1",
        "1 AND 1 SOUNDS LIKE 1",
        "1; delete low_priority from foo",
        "1;load data infile \"foo\"",
        "1;load xml local infile \"foo\"",
        "1; BEGIN DECLARE @xy varchar(8000)",
        "'; begin shutdown end-- -a",
        "4;select version()::int,null from pg_user--",
        "1512;select version()::int,null,null",
    ] {
        assert!(check(a).is_some(), "missed {a:?}");
    }
    for b in [
        "and 5 = 3 + 2, or so they say",
        "Cats and 2 = 2 dogs",
        "or 2 > 1 of them",
        "having 3 > 2 kids",
        "Use WHERE 1=1 to build the filter",
        "x < 3 and y > 2",
        "; load the data in the morning",
        "; delete the old ones from the list",
        "Ok; begin the migration tomorrow; then update",
        "not like 1 or 2",
    ] {
        assert_eq!(check(b), None, "{b:?}");
    }
}
