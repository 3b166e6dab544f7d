#!/usr/bin/env python3
"""sipplog - read a SIPp -trace_msg message log (the messages a SIPp run
sent and received) for the S-CSCF script tests.

  sipplog.py nonce LOG                 nonce of the last 401 received
  sipplog.py status LOG                status codes of the responses received
  sipplog.py headers LOG CODE NAME     values of header NAME in the last
                                       received response CODE, one per line
  sipplog.py notifies LOG DIR          write the body of each NOTIFY received
                                       to DIR/notify-N.xml; print N
  sipplog.py contacts XML AOR          the contacts of AOR in a reginfo body:
                                       "URI STATE EVENT" per line, by URI;
                                       then "version N STATE"
"""
import os
import re
import sys


def messages(path):
    """(direction, text) for each message of the log, in order."""
    out = []
    with open(path, encoding="latin-1") as f:
        chunks = re.split(r"^-{20,} .*$", f.read(), flags=re.M)
    for c in chunks:
        m = re.match(r"\s*\w+ message (sent|received)[^\n]*\n\n", c)
        if m:
            out.append((m.group(1), c[m.end():].replace("\r\n", "\n").rstrip("\n") + "\n"))
    return out


def split(text):
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    return lines[0], lines[1:], body


def header_values(hdrs, name):
    vals = []
    for h in hdrs:
        n, _, v = h.partition(":")
        if n.strip().lower() == name.lower():
            vals.extend(x.strip() for x in re.split(r",(?![^<]*>)", v) if x.strip())
    return vals


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    msgs = [m for m in messages(path) if m[0] == "received"]
    if cmd == "nonce":
        for _, t in reversed(msgs):
            first, hdrs, _ = split(t)
            if first.startswith("SIP/2.0 401"):
                for h in hdrs:
                    m = re.search(r'nonce="([^"]*)"', h)
                    if h.lower().startswith("www-authenticate") and m:
                        print(m.group(1))
                        return 0
        return 1
    if cmd == "status":
        for _, t in msgs:
            first = t.split("\n", 1)[0]
            if first.startswith("SIP/2.0 "):
                print(first.split(" ")[1])
        return 0
    if cmd == "headers":
        code, name = sys.argv[3], sys.argv[4]
        for _, t in reversed(msgs):
            first, hdrs, _ = split(t)
            if first.startswith("SIP/2.0 " + code):
                for v in header_values(hdrs, name):
                    print(v)
                return 0
        return 1
    if cmd == "contacts":
        import xml.etree.ElementTree as ET
        ns = "{urn:ietf:params:xml:ns:reginfo}"
        root = ET.parse(path).getroot()
        rows = []
        for reg in root.findall(ns + "registration"):
            if reg.get("aor") != sys.argv[3]:
                continue
            for c in reg.findall(ns + "contact"):
                rows.append("%s %s %s" % (c.find(ns + "uri").text, c.get("state"), c.get("event")))
        for r in sorted(rows):
            print(r)
        print("version %s %s" % (root.get("version"), root.get("state")))
        return 0
    if cmd == "notifies":
        n = 0
        for _, t in msgs:
            first, _, body = split(t)
            if first.startswith("NOTIFY "):
                n += 1
                with open(os.path.join(sys.argv[3], "notify-%d.xml" % n), "w") as f:
                    f.write(body)
        print(n)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
