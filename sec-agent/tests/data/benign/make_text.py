#!/usr/bin/env python3
"""Builds text.jsonl: real-world benign text as parameter values, for false-positive work.

The held-out acceptance set's benign side is "documentation sentences, code lines,
support-ticket-like values"; the development corpus (shared/corpus/benign.jsonl) has almost
none of those. This script samples such text from what is installed on the build machine
and writes one JSON object a line, in the schema of that corpus:

    {"id", "payload", "source", "context", "hard"}

- `source` is `family:file` (the file the text came from, `~` for the home directory), or
  `family:template` for composed values.
- `context` is `form_value` for multi-line or long values (a textarea), otherwise
  `qs_value` or `form_value` at random.
- `hard` is true when the value holds a quote (' " `), `<`, `>`, `;`, `|`, `&`, `..`,
  `/etc` or `http://` (the corpus README's definition, with the backtick as a quote).

Families (the first part of `source`):
- doc-man: sentences of man pages (sections 1, 5, 7, 8, rendered with `man -P cat`),
  doc-man-example: their EXAMPLES lines (command lines people copy), doc-sql-example:
  the SQL examples of the PostgreSQL pages in section 7 (whole SQL statements: a value that
  is SQL on purpose; report these apart).
- doc-usr: sentences and change-log entries of /usr/share/doc READMEs, NEWS and change logs.
- doc-python: sentences of Python standard library docstrings; code-doctest: their `>>>`
  lines.
- doc-rust: sentences (inline code kept in backticks) of the Rust books installed with the
  toolchain (book, cargo, reference, rust-by-example, ...), and doc-npm: of npm's docs.
- code-rust (crates in ~/.cargo/registry; the toolchain has no rust-src here),
  code-python (/usr/lib/python3*), code-shell (/usr/bin scripts, /etc/init.d, dpkg
  maintainer scripts), code-c (/usr/include), code-js (npm's own sources): single lines and
  short snippets of 2 to 6 lines.
- md-fence: fenced code blocks as they are in Markdown files (crate READMEs, npm docs) and
  in the Rust books' HTML (turned back into ```lang fences); md-list: bullet lists;
  md-composed: a fence, inline code or a `$ ` prompt around a sampled shell, Rust or Python
  line, with a sentence of ticket prose around it.
- ticket: support-ticket and chat sentences composed from templates (names with
  apostrophes, prices, comparisons in prose, e-mail addresses, URLs, Windows paths,
  versions, dates).

Values are capped at 2,000 bytes, stripped, deduplicated, non-empty. Nothing here is an
attack: a value equal to (or with a line equal to) an attack payload of the development
corpus, when it is present, is dropped. Deterministic for a given machine: fixed seed,
sorted file lists. The JSON lines are committed, so the benchmark does not depend on the
machine; run `python3 make_text.py > text.jsonl` in this directory to rebuild.
"""

import ast
import gzip
import html
import html.parser
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

SEED = 20260611
MAX_BYTES = 2000
HOME = str(Path.home())

rng = random.Random(SEED)

# Sentences that mention SQL, shells, markup, files or URLs are what fools detectors:
# sampled at a higher share than the rest.
INTERESTING = re.compile(
    r"(?i)\b(select|union|insert|update|delete|drop|where|from|or|and|exec|eval|system|"
    r"script|alert|passwd|shell|bash|cmd|sleep|ping|cat|id)\b|[<>;|&`$'\"]|file://|/etc/|"
    r"https?://|\.\./|\(\)"
)
HARD = re.compile(r"""['"`<>;|&]|\.\.|/etc|http://""")


def short(path):
    p = str(path)
    return "~" + p[len(HOME):] if p.startswith(HOME + "/") else p


def read_text(path, limit=400_000):
    try:
        if str(path).endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read(limit)
        else:
            with open(path, "rb") as f:
                data = f.read(limit)
    except OSError:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def sentences(paragraph):
    text = " ".join(paragraph.split())
    for s in re.split(r"(?<=[.!?])\s+(?=[A-Z`(\"'])", text):
        s = s.strip()
        if 15 <= len(s) <= 600 and re.search(r"[a-zA-Z]{3}", s):
            yield s


def paragraphs(text):
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def pick(pool, n, interesting_share=0.5):
    """n distinct items of pool, interesting_share of them matching INTERESTING."""
    pool = sorted(set(pool))
    hot = [x for x in pool if INTERESTING.search(x[1])]
    hot_set = set(hot)
    cold = [x for x in pool if x not in hot_set]
    n_hot = min(len(hot), int(n * interesting_share))
    out = rng.sample(hot, n_hot) + rng.sample(cold, min(len(cold), n - n_hot))
    if len(out) < n:
        taken = set(out)
        rest = [x for x in hot if x not in taken]
        out += rng.sample(rest, min(len(rest), n - len(out)))
    return out


def files(root, pattern):
    try:
        return sorted(p for p in Path(root).glob(pattern) if p.is_file())
    except OSError:
        return []


# ---------------------------------------------------------------------------- man pages


def man_pages():
    pages = []
    for sec in ("man1", "man5", "man7", "man8"):
        pages += files("/usr/share/man/" + sec, "*.gz")
    # The Google Cloud SDK brings thousands of near-identical pages, and PostgreSQL's SQL
    # command pages (man7, upper-case names) hold SQL examples: each sampled on its own.
    gcloud = [p for p in pages if p.name.startswith(("gcloud", "bq", "gsutil"))]
    sql = [p for p in pages if "/man7/" in str(p) and re.match(r"[A-Z_]+\.7", p.name)]
    rest = [p for p in pages if p not in set(gcloud) | set(sql)]
    pages = (rng.sample(rest, min(len(rest), 650)) + rng.sample(gcloud, min(len(gcloud), 15))
             + rng.sample(sql, min(len(sql), 60)))
    prose, examples, sql = [], [], []
    env = dict(os.environ, MANWIDTH="3000", LANG="C.UTF-8", MAN_KEEP_FORMATTING="")
    for page in sorted(pages):
        try:
            out = subprocess.run(
                ["man", "-P", "cat", str(page)],
                capture_output=True,
                env=env,
                timeout=20,
            ).stdout.decode("utf-8", "replace")
        except (OSError, subprocess.TimeoutExpired):
            continue
        is_sql = "/man7/" in str(page) and re.match(r"[A-Z_]+\.7", page.name)
        src = short(page)
        section = ""
        block = []
        for line in out.splitlines() + [""]:
            if re.match(r"^[A-Z][A-Z /-]+$", line):
                section = line.strip()
                continue
            if line.strip():
                block.append(line)
                continue
            if not block:
                continue
            indents = {len(l) - len(l.lstrip()) for l in block}
            body = "\n".join(l.strip() for l in block)
            if section == "EXAMPLES" and min(indents) > 7:
                # Indented deeper than the prose: example code.
                snippet = "\n".join(l[min(indents):] for l in block)
                if is_sql and re.match(r"(?i)(select|insert|update|delete|create|alter|with)\b", snippet):
                    sql.append((src, snippet))
                elif not is_sql and len(block) <= 6:
                    for l in block:
                        if 4 < len(l.strip()) < 300:
                            examples.append((src, l.strip()))
            elif section not in ("NAME", "SYNOPSIS", "SEE ALSO", "AUTHOR", "AUTHORS", "COPYRIGHT"):
                for s in sentences(body):
                    prose.append((src, s))
            block = []
    return prose, examples, sql


# ------------------------------------------------------------------------ /usr/share/doc


def usr_doc():
    names = re.compile(r"(?i)^(readme|news|changelog|changes|history|faq)([._-].*)?$")
    found = []
    for d in sorted(Path("/usr/share/doc").iterdir()):
        try:
            for p in sorted(d.rglob("*")):
                if p.is_file() and names.match(p.name) and p.stat().st_size > 200:
                    found.append(p)
        except OSError:
            continue
    found = rng.sample(found, min(len(found), 400))
    prose, entries, fences = [], [], []
    for p in sorted(found):
        text = read_text(p, 200_000)
        src = short(p)
        fences += [(src, f) for f in md_fences(text)]
        for para in paragraphs(text):
            lines = para.strip("\n").splitlines()
            if re.match(r"^\s*[*-] ", lines[0]):
                # Change-log entries: `  * Fix foo (Closes: #123)`, continuation lines joined.
                entry = []
                for l in lines + ["* "]:
                    if re.match(r"^\s*[*-] ", l):
                        if entry:
                            e = " ".join(entry)
                            if 12 <= len(e) <= 500:
                                entries.append((src, e))
                        entry = [l.strip()[2:].strip()]
                    elif not l.strip().startswith("--"):
                        entry.append(l.strip())
            elif not para.startswith(("    ", "\t")) and "```" not in para:
                prose += [(src, s) for s in sentences(para)]
    return prose, entries, fences


# ----------------------------------------------------------------------------- Markdown


def md_fences(text):
    out = []
    for m in re.finditer(r"(?ms)^( {0,3})```[^\n`]*\n.*?^\1```[ \t]*$", text):
        block = m.group(0)
        block = "\n".join(l[len(m.group(1)):] for l in block.splitlines())
        if len(block) <= MAX_BYTES and block.count("\n") >= 2:
            out.append(block)
    return out


def md_lists(text):
    out = []
    for para in paragraphs(re.sub(r"(?ms)^```.*?^```", "", text)):
        lines = para.strip("\n").splitlines()
        if 2 <= len(lines) <= 10 and all(re.match(r"^\s*([*-]|\d+\.) \S", l) for l in lines):
            out.append("\n".join(l.rstrip() for l in lines))
    return out


def markdown_files():
    found = files(HOME + "/.cargo/registry/src", "*/*/README.md")
    found += files("/usr/lib/node_modules/npm/docs/content", "**/*.md")
    found += files("/usr/lib/node_modules/npm", "README.md")
    fences, lists, prose = [], [], []
    for p in found:
        text = read_text(p)
        src = short(p)
        fences += [(src, f) for f in md_fences(text)]
        lists += [(src, l) for l in md_lists(text)]
        for para in paragraphs(re.sub(r"(?ms)^```.*?^```", "", text)):
            if para.lstrip().startswith(("#", "|", "<", "[", "-", "*", "    ", "!")):
                continue
            prose += [(src, s) for s in sentences(para)]
    return fences, lists, prose


# ---------------------------------------------------------------------- Rust books' HTML


class BookPage(html.parser.HTMLParser):
    """Paragraph text (inline <code> back in backticks) and <pre><code> blocks."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.paras, self.blocks = [], []
        self.in_p = self.in_pre = False
        self.lang = ""
        self.buf = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "p":
            self.in_p, self.buf = True, []
        elif tag == "pre":
            self.in_pre, self.buf, self.lang = True, [], ""
        elif tag == "code" and self.in_pre:
            for c in (attrs.get("class") or "").split():
                if c.startswith("language-"):
                    self.lang = c[len("language-"):]
        elif tag == "code" and self.in_p:
            self.buf.append("`")
        elif tag == "span" and self.in_pre and "boring" in (attrs.get("class") or ""):
            self.buf.append("\0")

    def handle_endtag(self, tag):
        if tag == "p" and self.in_p:
            self.paras.append("".join(self.buf))
            self.in_p = False
        elif tag == "pre" and self.in_pre:
            code = "".join(self.buf).strip("\n")
            # Lines rustdoc hides (`# fn main() {`) were in "boring" spans: left out.
            code = "\n".join(l for l in code.splitlines() if "\0" not in l)
            self.blocks.append((self.lang, code))
            self.in_pre = False
        elif tag == "code" and self.in_p:
            self.buf.append("`")

    def handle_data(self, data):
        if self.in_p or self.in_pre:
            self.buf.append(data)


def rust_books():
    roots = [r for r in Path(HOME + "/.rustup/toolchains").glob("stable-*/share/doc/rust/html")]
    pages = []
    for root in sorted(roots):
        for book in ("book", "cargo", "reference", "rust-by-example", "edition-guide",
                     "nomicon", "rustc", "rustdoc", "clippy", "style-guide", "embedded-book"):
            pages += [p for p in files(root / book, "**/*.html")
                      if not re.search(r"/(zh|ja|ko|es|print\.html)", str(p)) and p.name != "print.html"]
    pages = rng.sample(pages, min(len(pages), 600))
    prose, fences = [], []
    for p in sorted(pages):
        parser = BookPage()
        try:
            parser.feed(read_text(p, 1_000_000))
        except Exception:  # a malformed page: skip it
            continue
        src = short(p)
        for para in parser.paras:
            prose += [(src, s) for s in sentences(para)]
        for lang, code in parser.blocks:
            if code.strip() and len(code) < MAX_BYTES - 20 and code.count("\n") < 25:
                lang = {"console": "console", "text": "text", "toml": "toml"}.get(lang, lang)
                fences.append((src, f"```{lang}\n{code}\n```"))
    return prose, fences


# ---------------------------------------------------------------------- Python docstrings


def python_docs():
    roots = sorted(Path("/usr/lib").glob("python3*"))
    mods = []
    for r in roots:
        mods += [p for p in files(r, "*.py")] + [p for p in files(r, "*/*.py")
                                                  if "test" not in str(p) and "site-packages" not in str(p)]
    mods = rng.sample(mods, min(len(mods), 400))
    prose, doctests = [], []
    for p in sorted(mods):
        try:
            tree = ast.parse(read_text(p, 2_000_000))
        except (SyntaxError, ValueError):
            continue
        src = short(p)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
                doc = ast.get_docstring(node)
                if not doc:
                    continue
                for para in paragraphs(doc):
                    if ">>>" in para:
                        doctests += [(src, l.strip()) for l in para.splitlines()
                                     if l.strip().startswith(">>> ") and len(l.strip()) > 8]
                    elif not para.startswith("    "):
                        prose += [(src, s) for s in sentences(para)]
    return prose, doctests


# ------------------------------------------------------------------------------ code


def code_lines(paths, family, comment):
    """Single lines and 2-6 line snippets of source files."""
    lines, snippets = [], []
    for p in sorted(paths):
        text = read_text(p, 300_000)
        src = short(p)
        rows = text.splitlines()
        for l in rows:
            s = l.strip()
            if 12 <= len(s) <= 400 and not s.startswith(comment) and re.search(r"[a-z]{2}", s):
                lines.append((src, s))
        if len(rows) > 10:
            for _ in range(3):
                start = rng.randrange(0, len(rows) - 6)
                n = rng.randint(2, 6)
                block = rows[start:start + n]
                indent = min((len(l) - len(l.lstrip()) for l in block if l.strip()), default=0)
                snip = "\n".join(l[indent:].rstrip() for l in block).strip("\n")
                if snip.count("\n") >= 1 and len(snip) > 20:
                    snippets.append((src, snip))
    return lines, snippets


def shell_scripts():
    paths = []
    for p in files("/usr/bin", "*") + files("/usr/sbin", "*"):
        try:
            with open(p, "rb") as f:
                head = f.read(64)
        except OSError:
            continue
        if re.match(rb"#! ?(/usr)?/bin/(env )?(ba|da)?sh\b", head) and p.stat().st_size < 300_000:
            paths.append(p)
    paths += files("/etc/init.d", "*")
    paths += [p for p in files("/var/lib/dpkg/info", "*")
              if p.suffix in (".postinst", ".preinst", ".postrm", ".prerm", ".config")]
    return paths


# ------------------------------------------------------------------- composed values

FIRST = ["Mary", "Sean", "Aoife", "Liam", "Chloé", "José", "Anika", "Tom", "Priya", "Mohammed",
         "Zoë", "Kenji", "Ines", "Olu", "Grace", "Ravi", "Fatima", "Björn", "Lucía", "Dmitri"]
LAST = ["O'Brien", "D'Angelo", "O'Neil", "McDonald", "Smith-Jones", "van der Berg", "Nguyen",
        "García", "Müller", "L'Estrange", "D'Souza", "Kowalski", "Ó Súilleabháin", "Okafor",
        "Dell'Acqua", "St. John", "N'Diaye", "Al-Khatib", "Park", "Ferreira"]
DOMAINS = ["example.com", "example.org", "mail.example.net", "shop.example.co.uk", "corp.example"]
PRODUCTS = ["the Pro plan", "order #48213", "invoice INV-2024-0931", "my subscription",
            "the 27\" monitor", "the blue kettle (2L)", "ticket #5521", "the mobile app",
            "the API key", "my account", "the \"Family\" bundle", "the 4K TV", "the export job"]
WINPATHS = [r"C:\Users\me\Documents", r"C:\Program Files\Example\app.exe",
            r"D:\backups\2024\march", r"C:\Users\j.o'brien\Desktop\report (final).docx",
            r"\\fileserver\shared\finance", r"%APPDATA%\Example\settings.ini",
            r"C:\Windows\Temp\setup.log"]
UNIXPATHS = ["~/Downloads/report.pdf", "/home/anna/projects/site", "/var/log/syslog",
             "/etc/hosts", "/etc/nginx/nginx.conf", "/tmp/upload-3321.csv", "../assets/logo.png",
             "./build/output.log", "/usr/local/bin/app", "/etc/ssl/certs"]
URLS = ["https://www.example.com/help/article/123", "http://intranet.example/wiki/Setup",
        "https://docs.example.org/en/latest/install.html#linux", "https://example.com/?ref=mail&utm_source=news",
        "http://localhost:8080/admin", "file:///C:/Users/me/Desktop/index.html",
        "https://github.com/example/project/issues/42", "ftp://ftp.example.org/pub/",
        "file:///home/me/notes.txt", "http://192.168.1.1/"]
VERSIONS = ["v2.3.1", "1.0.0-beta.2", "14.1", "3.11.7", "2024.03", "10.0.19045", "0.9.12+spec-1.1.0"]
DATES = ["12/03/2024", "2024-03-12", "March 3rd", "3 Mar 2024 14:05", "last Tuesday", "yesterday at 9:30pm",
         "Q3 2023", "01.02.2025"]
PRICES = ["$19.99", "€45", "£3.50", "$1,299.00", "¥12000", "USD 250", "$5 & up", "30% off"]
COMPARE = ["5 > 3 and 2 < 4", "x < 10 or y > 20", "a >= b", "1 < 2", "3 > 2 > 1",
           "temperature < 0 and wind > 50 km/h", "if price < $20 or rating > 4", "<= 5 items",
           "score > 90 and attendance >= 80%", "-> see above", "A <-> B", "<3", ">_<", ":-)",
           "2 + 2 = 4", "x = y * 2", "50% or more", "a != b", "1/2 & 3/4"]
EMAILS = ["{f}.{l}@{d}", "{f}@{d}", "support+{f}@{d}", "{f}_{l}99@{d}"]

TICKETS = [
    "Hi, I'm {name} and I can't log in since {date}. My e-mail is {email}.",
    "Hello team, {product} was charged twice ({price} each). Can you refund one?",
    "The app crashes when I open {winpath} — I'm on Windows {version}.",
    "Please cancel {product}; I don't need it anymore. Thanks, {name}",
    "I found a typo on {url}: \"recieve\" should be \"receive\".",
    "Is it true that {compare}? The docs seem to say so.",
    "My son's account ({email}) shows {price} but the cart says {price2}.",
    "Order arrived damaged :( The box said \"fragile\" & \"this side up\".",
    "We're seeing timeouts after upgrading to {version}; logs are in {unixpath}.",
    "Can you add {name} to our team? Their address is {email}.",
    "The link {url} returns 404 since {date}.",
    "Rating: 4/5 — good value, but delivery took > 2 weeks.",
    "I tried both Chrome & Firefox; same issue. Screenshot attached (see {winpath}).",
    "Re: {product} – \"it works on my machine\" isn't an answer, sorry!",
    "Where do I find my invoices? I looked under Settings > Billing > History.",
    "Note to self: {compare}, so the cheaper option wins.",
    "Meeting moved to {date}; agenda: budget, Q&A, next steps.",
    "Could you whitelist {email}? Our filter drops mail from {domain}.",
    "It says 'permission denied' when I save to {unixpath}.",
    "Dear {name}, thank you for your order of {product} ({price}).",
    "Is {version} compatible with {product}? I'm on macOS & use Safari.",
    "Password reset mail never arrives (checked spam). Account: {email}",
    "The CSV export puts ; instead of , between columns — is that a locale thing?",
    "Our office is at 12 O'Connell St., Dublin; open Mon–Fri 9:00–17:30.",
    "5 stars!!! Best purchase this year <3",
    "When I paste {url} into the browser it just spins…",
    "I'd like to change my delivery address to: Flat 3, 22 King's Road, London SW3.",
    "Error code 0x80070005 when installing to {winpath}.",
    "Please see the attached log ({unixpath}) and let me know what's wrong.",
    "The \"Save\" button is greyed out if the title is > 100 characters.",
    "Hi! Love the product. Small request: dark mode? :)",
    "Between {date} and {date2} we had {compare} — weird, right?",
    "{name} wrote: \"I'll be there at 10 & bring the slides.\"",
    "The price went from {price} to {price2} overnight?!",
    "Hi, the import fails with: ValueError: invalid literal for int() with base 10: 'N/A'",
    "Can I pay by bank transfer (IBAN) or only by card?",
    "Our proxy blocks {url}; which domains must we allow?",
    "Upgrade from {version} to {version2} went fine, thanks!",
    "Two questions: (1) how do refunds work? (2) can I pause {product}?",
    "FYI the <b> tag shows up literally in the product description.",
    "Select the items you want, then click Order; or call us at +1 (555) 010-2233.",
    "I want to update my billing details and delete the old card from my account.",
    "Drop me a line at {email} when the order ships.",
    "Union Street branch is closed; please use the one on Main & 5th.",
    "I typed `cat /etc/hosts` like the guide says but my entry isn't there.",
    "Your docs say to run sudo systemctl restart app; I did, nothing changed.",
    "The setup wizard asks for a path; I entered {winpath} and it rejected it.",
    "Does the query \"price < 50 and in stock\" work in the search box?",
    "Search for \"{name}\" returns nothing, but \"{first}\" finds them.",
    "We use {product} with {count} seats; can we drop to {count2}?",
    "Hi {first}, the script in {unixpath} ran fine; output attached.",
    "{first} from accounting says the report (Q1 vs Q2) is off by {price}.",
    "Open the file via {url} and tell me if it loads.",
    "Can't select more than {count} files at once — is that a limit?",
    "Where do I delete my old addresses? I have {count} of them.",
    "I'd like to order {count} more, same as last time (ref {ref}).",
    "Hello, I think there's a bug: when {compare} the total is wrong.",
    "In Excel I use =IF(A1>B1;\"yes\";\"no\") — can your import handle formulas?",
    "The tracking page for {ref} says \"in transit\" since {date}.",
    "Sorry for the late reply! I was away {date} – {date2}.",
    "Tried the fix from {url}; still failing on {version}.",
    "Our admin ({email}) needs access to the 'Reports' & 'Billing' tabs.",
    "The word \"and\" in titles is turned into \"&amp;\" on the invoice.",
    "If I choose 'Union Pay' at checkout the page reloads.",
    "My name is {name} (née {last2}); please update the account.",
    "Is there an API? I'd like to GET /orders?status=open&limit={count}.",
    "How do I escape a backslash in {winpath} in your config file?",
    "I get \"Error: EACCES: permission denied, open '{unixpath}'\".",
    "Cheers {first}! See you {date} @ the office.",
    "Please confirm the change: {count} x {product} → {count2} x {product}.",
    "The SELECT dropdown on the form doesn't show \"Other\".",
    "Not sure if this is expected: a 3 < 5 rating shows as 5 stars.",
    "I pasted my SSH key (ssh-ed25519 AAAAC3Nza... {email}) but it says invalid.",
    "Exit code was 127 — command not found? I'm on Ubuntu 22.04.",
    "Log line: [{date}] WARN worker-3: retry 2/5 after 30s",
    "ETA? We need it before {date}; it's for a client's launch.",
]

CHAT = [
    "lol that's what she said", "brb, coffee ☕", "ok & thx", "can u send me the link? {url}",
    "meet @ 5? or 6", "k", "omg {compare}", "see {url} (page 3)", "it's in {winpath}",
    "ping me when you're free", "cat pics or it didn't happen", "i'll echo that",
    "did you try turning it off & on again?", "ls: that's the file list command right?",
    "whoami? just a user lol", "sleep 8 hours, then we talk", "rm -rf is scary, don't",
    "my kid's school uses C:\\ drive for everything", "it costs {price}; worth it?",
    "haha {first} you're killing me", "who's in for lunch? 12:30 @ Luigi's",
    "gonna be 5 min late; bus is stuck", "did {first} get my msg??", "👍 sounds good",
    "wait what's the wifi pw", "nvm found it", "np! & thanks for yesterday",
    "{first}: can you review my PR? {url}", "lgtm, ship it 🚀", "ugh monday again -_-",
    "anyone know why `git push` is rejected? says non-fast-forward",
    "try `npm install` again, then `npm run build`", "i just do ls | grep foo lol",
    "copy it to {winpath} and run it from there", "the meeting is @ {date}; bring snacks",
]

INTRO = ["I ran this:", "Steps to reproduce:", "Here's what I typed:", "This command fails for me:",
         "Running the following gives an error:", "From the docs:", "Output of", "Try:",
         "I followed the README and ran", "The install step"]
OUTRO = ["", "Any idea why?", "It prints nothing.", "and it says permission denied.",
         "Works on Linux, not on my Mac.", "Thanks in advance!", "What am I missing?"]
LANGS = {"shell": ["bash", "sh", "console", "shell", ""], "rust": ["rust", "rs", ""],
         "python": ["python", "py", "python3", ""]}


def composed_markdown(shell, rust, python, n):
    out = []
    kinds = [("shell", shell), ("rust", rust), ("python", python)]
    for i in range(n):
        kind, pool = rng.choice(kinds)
        if not pool:
            continue
        src, line = rng.choice(pool)
        if "\n" in line:
            line = line.split("\n")[0]
        intro, outro = rng.choice(INTRO), rng.choice(OUTRO)
        lang = rng.choice(LANGS[kind])
        shape = rng.randrange(7)
        if shape == 0:
            v = f"```{lang}\n{line}\n```"
        elif shape == 1:
            v = f"{intro}\n```{lang}\n{line}\n```\n{outro}"
        elif shape == 2:
            v = f"{intro} `{line}` {outro}"
        elif shape == 3 and kind == "shell":
            v = f"{intro}\n\n    $ {line}\n\n{outro}"
        elif shape == 4:
            src2, line2 = rng.choice(pool)
            v = f"```{lang}\n{line}\n{line2.splitlines()[0]}\n```"
        elif shape == 5:
            v = f"- {intro} `{line}`\n- {rng.choice(OUTRO) or 'Then restart.'}"
        else:
            v = f"{intro} {line}" if kind == "shell" else f"`{line}`"
        out.append((f"md-composed:{src}", v.strip()))
    return out


def composed_tickets(n):
    out = []
    for i in range(n):
        tmpl = rng.choice(TICKETS) if rng.random() < 0.8 else rng.choice(CHAT)
        f, l, d = rng.choice(FIRST), rng.choice(LAST), rng.choice(DOMAINS)
        email = rng.choice(EMAILS).format(
            f=f.lower(), l=re.sub(r"[^a-z]", "", l.lower()) or "x", d=d)
        fields = dict(
            name=f"{f} {l}", email=email, domain=d, product=rng.choice(PRODUCTS),
            price=rng.choice(PRICES), price2=rng.choice(PRICES), winpath=rng.choice(WINPATHS),
            unixpath=rng.choice(UNIXPATHS), url=rng.choice(URLS), version=rng.choice(VERSIONS),
            version2=rng.choice(VERSIONS), date=rng.choice(DATES), date2=rng.choice(DATES),
            compare=rng.choice(COMPARE), first=f, last2=rng.choice(LAST),
            count=rng.choice([1, 2, 3, 5, 10, 12, 25, 100, 250]), count2=rng.choice([0, 4, 8, 20, 50]),
            ref=f"{rng.choice('ABCDEFGHJK')}{rng.randrange(10000, 99999)}")
        src = "ticket:template" if tmpl in TICKETS else "ticket:chat-template"
        out.append((src, tmpl.format(**fields)))
    # Every comparison phrase on its own and in a sentence: prose with < and >.
    for c in COMPARE:
        out.append(("ticket:template", c))
        out.append(("ticket:template", f"Remember: {c}."))
    return out


# --------------------------------------------------------------------------- assembly


def attack_lines():
    """Payloads of the development corpus, to keep attacks out of a benign set."""
    here = Path(__file__).resolve()
    default = here.parents[5] / "shared/corpus" if len(here.parents) > 5 else here.parent
    path = Path(os.environ.get("SEC_AGENT_CORPUS", default)) / "attacks.jsonl"
    out = set()
    try:
        with open(path) as f:
            for line in f:
                p = json.loads(line)["payload"].strip()
                if len(p) >= 6:
                    out.add(p)
    except OSError:
        pass
    return out


def main():
    man_prose, man_examples, man_sql = man_pages()
    doc_prose, doc_entries, doc_fences = usr_doc()
    md_f, md_l, md_prose = markdown_files()
    book_prose, book_fences = rust_books()
    py_prose, doctests = python_docs()

    rust_files = files(HOME + "/.cargo/registry/src", "*/*/src/**/*.rs")
    rust_files = rng.sample(rust_files, min(len(rust_files), 250))
    rust_l, rust_s = code_lines(rust_files, "code-rust", ("//",))
    py_files = []
    for r in sorted(Path("/usr/lib").glob("python3*")):
        py_files += [p for p in files(r, "**/*.py") if "site-packages" not in str(p)]
    py_files = rng.sample(py_files, min(len(py_files), 250))
    py_l, py_s = code_lines(py_files, "code-python", ("#",))
    sh_files = shell_scripts()
    sh_files = rng.sample(sh_files, min(len(sh_files), 250))
    sh_l, sh_s = code_lines(sh_files, "code-shell", ("#",))
    c_files = files("/usr/include", "**/*.h")
    c_files = rng.sample(c_files, min(len(c_files), 200))
    c_l, c_s = code_lines(c_files, "code-c", ("/*", "*", "//"))
    js_files = [p for p in files("/usr/lib/node_modules/npm", "**/*.js") if ".min." not in p.name]
    js_files = rng.sample(js_files, min(len(js_files), 150))
    js_l, js_s = code_lines(js_files, "code-js", ("//", "/*", "*"))

    plan = [
        ("doc-man", man_prose, 1300, 0.6),
        ("doc-man-example", man_examples, 350, 0.5),
        ("doc-sql-example", man_sql, 80, 0.5),
        ("doc-usr", doc_prose, 700, 0.6),
        ("doc-usr-changelog", doc_entries, 300, 0.5),
        ("doc-python", py_prose, 500, 0.6),
        ("code-doctest", doctests, 120, 0.5),
        ("doc-rust", book_prose, 500, 0.6),
        ("doc-npm", md_prose, 200, 0.6),
        ("md-fence", md_f + book_fences + doc_fences, 600, 0.5),
        ("md-list", md_l, 120, 0.5),
        ("code-rust", rust_l, 450, 0.5),
        ("code-rust", rust_s, 150, 0.5),
        ("code-python", py_l, 400, 0.5),
        ("code-python", py_s, 120, 0.5),
        ("code-shell", sh_l, 450, 0.5),
        ("code-shell", sh_s, 150, 0.5),
        ("code-c", c_l, 250, 0.5),
        ("code-c", c_s, 60, 0.5),
        ("code-js", js_l, 200, 0.5),
        ("code-js", js_s, 60, 0.5),
    ]
    rows = []
    for family, pool, n, share in plan:
        # doc-npm also holds crate READMEs' prose: name the family by where it came from.
        for src, v in pick(pool, n, share):
            fam = family
            if family == "doc-npm" and "/.cargo/" in src:
                fam = "doc-crate"
            rows.append((f"{fam}:{src}", v))
    shell_pool = man_examples + sh_l
    rows += composed_markdown(shell_pool, rust_l, py_l, 500)
    rows += composed_tickets(1800)

    attacks = attack_lines()
    seen, out = set(), []
    for src, v in rows:
        v = v.strip()
        if not v or "\0" in v:
            continue
        while len(v.encode()) > MAX_BYTES:
            v = v[: len(v) * 9 // 10].rstrip()
        if v in seen or v in attacks or any(l.strip() in attacks for l in v.splitlines()):
            continue
        seen.add(v)
        multi = "\n" in v or len(v) > 200
        ctx = "form_value" if multi else rng.choice(["qs_value", "form_value"])
        out.append({"payload": v, "source": src, "context": ctx, "hard": bool(HARD.search(v))})
    for i, r in enumerate(out):
        r = {"id": f"text-{i:05d}", **r}
        sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(out)} values", file=sys.stderr)


if __name__ == "__main__":
    main()
