#!/usr/bin/env python3
"""Checks of the page `temper status --html` writes, for tests/sla/test_sla.sh.

    check_html.py FILE CHECK [ARG]

CHECK is one of
  wellformed      every element closes in order (void elements excepted), one
                  <html>, <head>, <body>, a <title>; no stray end tag
  selfcontained   no <script>, no external resource (src/href to http(s) or //,
                  <link>, @import or url( in the style), no on* handlers
  escaped TEXT    TEXT occurs as character data (so it was escaped) and the raw
                  markup of TEXT does not occur as a tag
  breaches N      the SLA table has exactly N rows of class "breach"
  graph           images nest under their base: base > app, base > web
  sections        the sections images, graph, runs, reviews, sla exist
Exit 0 when the check holds; otherwise say why on stderr and exit 1.
"""
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.errors = []
        self.tags = []          # (tag, attrs dict, path of open tags)
        self.data = []
        self.style = []
        self.graph = {}         # li text -> parent li text
        self.li_text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a, list(self.stack)))
        if tag == "li":
            self.li_text.append("")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs), list(self.stack)))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("end tag </%s> does not close <%s>" %
                               (tag, self.stack[-1] if self.stack else "nothing"))
            return
        self.stack.pop()
        if tag == "li":
            text = self.li_text.pop().strip()
            parent = self.li_text[-1].strip() if self.li_text else None
            if "graph" in self.section_ids():
                self.graph[text] = parent

    def section_ids(self):
        return [a.get("id") for (t, a, _) in self.tags if t == "h2"][-1:]

    def handle_data(self, data):
        self.data.append(data)
        if self.stack and self.stack[-1] == "style":
            self.style.append(data)
        if self.li_text and self.stack and self.stack[-1] == "li":
            self.li_text[-1] += data


def main():
    path, check = sys.argv[1], sys.argv[2]
    arg = sys.argv[3] if len(sys.argv) > 3 else None
    with open(path, encoding="utf-8") as f:
        text = f.read()
    p = Page()
    p.feed(text)
    p.close()
    problems = []
    if check == "wellformed":
        problems += p.errors
        if p.stack:
            problems.append("unclosed: %s" % p.stack)
        for t in ("html", "head", "body", "title"):
            n = sum(1 for (tag, _, _) in p.tags if tag == t)
            if n != 1:
                problems.append("%d <%s> elements" % (n, t))
        if not text.startswith("<!DOCTYPE html>"):
            problems.append("no doctype")
    elif check == "selfcontained":
        for (tag, a, _) in p.tags:
            if tag in ("script", "link", "iframe", "object", "embed"):
                problems.append("<%s> element" % tag)
            for k, v in a.items():
                if k.startswith("on"):
                    problems.append("handler %s on <%s>" % (k, tag))
                if k in ("src", "href") and v and (v.startswith("http") or v.startswith("//")):
                    problems.append("external %s=%s" % (k, v))
        css = "".join(p.style)
        if "@import" in css or "url(" in css:
            problems.append("external resource in the style")
    elif check == "escaped":
        if arg not in "".join(p.data):
            problems.append("%r is not in the text of the page" % arg)
        if arg in text:
            problems.append("%r occurs unescaped in the markup" % arg)
    elif check == "breaches":
        rows = [a for (t, a, path) in p.tags if t == "tr" and "table" in path]
        n = sum(1 for a in rows if a.get("class") == "breach")
        if n != int(arg):
            problems.append("%d breach rows, expected %s" % (n, arg))
        if not any(t == "table" and a.get("id") == "sla-table" for (t, a, _) in p.tags):
            problems.append("no table#sla-table")
    elif check == "graph":
        for child in ("app", "web"):
            if p.graph.get(child, "").split()[:1] != ["base"]:
                problems.append("%s is not under base: %r" % (child, p.graph))
        if p.graph.get("base", "missing") is not None:
            problems.append("base is not a root: %r" % p.graph)
    elif check == "sections":
        ids = {a.get("id") for (t, a, _) in p.tags if t == "h2"}
        for want in ("images", "graph", "runs", "reviews", "sla"):
            if want not in ids:
                problems.append("no section %s" % want)
    else:
        problems.append("unknown check %s" % check)
    for x in problems:
        print("check_html %s: %s" % (check, x), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
