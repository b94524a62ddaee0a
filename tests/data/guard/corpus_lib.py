"""Helpers shared by the corpus case files (see make_corpus.py)."""

CASES = []

MAINT = ("Lasse Collin", "lasse.collin@tukaani.org")
DEV = ("Ada Maintainer", "ada@example.org")
DEV2 = ("Grace Hopper", "grace@example.org")
NEWBIE = ("Jia Tan", "jiat0218@gmail.com")
NEWBIE2 = ("Build Helper", "build.helper@proton.example")
BOT = ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")


def case(name, expect, rules=(), absent=(), base=None, commits=()):
    CASES.append(dict(name=name, expect=expect, rules=list(rules), absent=list(absent),
                      base=base or {}, commits=list(commits)))


def commit(author, subject, files, body="", verified=None, committer=None):
    return dict(author=author, subject=subject, files=files, body=body,
                verified=verified, committer=committer)
