# Independent readers for mailshift's groupware writers, run by package oracle under Debian's /usr/bin/python3.
# Usage: python3 oracle.py MODE < request.json > response.json, where the request is
# {"docs": [<base64 document>, ...], ...mode options} and the response {"results": [...]} with one result per
# document, or {"fatal": "..."} when a required module is missing. The response is written to the file
# descriptor given as argv[2], because libkolabxml prints its diagnostics on stdout.
import base64
import json
import os
import sys
import traceback


def fatal(msg):
    out(json.dumps({"fatal": msg}))
    sys.exit(0)


def out(text):
    fd = int(sys.argv[2])
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


# ---------------------------------------------------------------- Kolab v3 (libkolabxml)

def kolab_mode(req):
    try:
        import kolabformat as k
    except ImportError as e:
        fatal("python3-kolabformat is missing (%s)" % e)

    def dt(d):
        if d is None or not d.isValid():
            return None
        if d.isDateOnly():
            v = "%04d-%02d-%02d" % (d.year(), d.month(), d.day())
        else:
            v = "%04d-%02d-%02dT%02d:%02d:%02d" % (d.year(), d.month(), d.day(), d.hour(), d.minute(), d.second())
            if d.isUTC():
                v += "Z"
        return {"value": v, "tz": d.timezone(), "date_only": bool(d.isDateOnly()), "utc": bool(d.isUTC())}

    def enum(value, prefix, mod=k):
        for n in dir(mod):
            if n.startswith(prefix) and getattr(mod, n) == value:
                return n[len(prefix):]
        return str(value)

    weekdays = {k.Monday: "MO", k.Tuesday: "TU", k.Wednesday: "WE", k.Thursday: "TH", k.Friday: "FR",
                k.Saturday: "SA", k.Sunday: "SU"}
    R = k.RecurrenceRule
    freqs = {R.Daily: "DAILY", R.Weekly: "WEEKLY", R.Monthly: "MONTHLY", R.Yearly: "YEARLY", R.FreqNone: ""}
    roles = {k.Chair: "CHAIR", k.Required: "REQ-PARTICIPANT", k.Optional: "OPT-PARTICIPANT",
             k.NonParticipant: "NON-PARTICIPANT"}
    partstats = {k.PartNeedsAction: "NEEDS-ACTION", k.PartAccepted: "ACCEPTED", k.PartDeclined: "DECLINED",
                 k.PartTentative: "TENTATIVE", k.PartDelegated: "DELEGATED", k.PartInProcess: "IN-PROCESS",
                 k.PartCompleted: "COMPLETED"}
    cutypes = {k.CutypeIndividual: "INDIVIDUAL", k.CutypeResource: "RESOURCE", k.CutypeRoom: "ROOM",
               k.CutypeGroup: "GROUP", k.CutypeUnknown: "UNKNOWN"}
    statuses = {k.StatusUndefined: "", k.StatusNeedsAction: "NEEDS-ACTION", k.StatusCompleted: "COMPLETED",
                k.StatusInProcess: "IN-PROCESS", k.StatusCancelled: "CANCELLED", k.StatusTentative: "TENTATIVE",
                k.StatusConfirmed: "CONFIRMED", k.StatusDraft: "DRAFT", k.StatusFinal: "FINAL"}
    classes = {k.ClassPublic: "PUBLIC", k.ClassPrivate: "PRIVATE", k.ClassConfidential: "CONFIDENTIAL"}

    def duration(d):
        if not d.isValid():
            return ""
        s = "-" if d.isNegative() else ""
        s += "P"
        if d.weeks():
            return s + "%dW" % d.weeks()
        if d.days():
            s += "%dD" % d.days()
        t = ""
        if d.hours():
            t += "%dH" % d.hours()
        if d.minutes():
            t += "%dM" % d.minutes()
        if d.seconds():
            t += "%dS" % d.seconds()
        if t:
            s += "T" + t
        return s

    def person(c):
        return {"name": c.name(), "email": c.email(), "uid": c.uid()}

    def customs(o):
        return [{"name": c.identifier, "value": c.value} for c in o.customProperties()]

    def attachments(o):
        return [{"uri": a.uri(), "mime_type": a.mimetype(), "label": a.label(), "data_size": len(a.data())}
                for a in o.attachments()]

    def rule(r):
        if not r.isValid():
            return None
        return {"freq": freqs.get(r.frequency(), str(r.frequency())), "interval": r.interval(), "count": r.count(),
                "until": dt(r.end()),
                "byday": [("%d" % d.occurence() if d.occurence() else "") + weekdays[d.weekday()] for d in r.byday()],
                "bymonthday": list(r.bymonthday()), "bymonth": list(r.bymonth()),
                "wkst": weekdays.get(r.weekStart(), "")}

    def incidence(o, kind):
        r = {"uid": o.uid(), "summary": o.summary(), "description": o.description(),
             "created": dt(o.created()), "last_modified": dt(o.lastModified()), "sequence": o.sequence(),
             "class": classes.get(o.classification(), ""), "categories": list(o.categories()),
             "status": statuses.get(o.status(), str(o.status())), "start": dt(o.start()),
             "attendees": [{"name": a.contact().name(), "email": a.contact().email(),
                            "partstat": partstats.get(a.partStat(), ""), "role": roles.get(a.role(), ""),
                            "rsvp": bool(a.rsvp()), "cutype": cutypes.get(a.cutype(), "")} for a in o.attendees()],
             "attachments": attachments(o), "custom": customs(o)}
        if kind in ("event", "task"):
            r.update({"location": o.location(), "priority": o.priority(), "rrule": rule(o.recurrenceRule()),
                      "exdates": [dt(d) for d in o.exceptionDates()],
                      "rdates": [dt(d) for d in o.recurrenceDates()],
                      "recurrence_id": dt(o.recurrenceID()),
                      "organizer": person(o.organizer()) if o.organizer().isValid() else None,
                      "alarms": [{"type": enum(a.type(), "", k.Alarm), "description": a.description(),
                                  "text": a.text(), "trigger": duration(a.relativeStart()),
                                  "related": "END" if a.relativeTo() == k.End else "START"} for a in o.alarms()],
                      "exceptions": [incidence(x, kind) for x in o.exceptions()]})
        if kind == "event":
            r.update({"end": dt(o.end()), "transparent": bool(o.transparency())})
        if kind == "task":
            r.update({"due": dt(o.due()), "percent_complete": o.percentComplete()})
        return r

    def contact(c):
        n = c.nameComponents()
        affs = []
        for a in c.affiliations():
            affs.append({"organization": a.organisation(), "units": list(a.organisationalUnits()),
                         "roles": list(a.roles()),
                         "related": [{"text": x.text(), "uri": x.uri(), "types": x.relationTypes()} for x in a.relateds()]})
        photo = c.photo().encode("utf-8", "surrogateescape")
        return {"uid": c.uid(), "fn": c.name(), "family": list(n.surnames()), "given": list(n.given()),
                "additional": list(n.additional()), "prefixes": list(n.prefixes()), "suffixes": list(n.suffixes()),
                "nicknames": list(c.nickNames()), "note": c.note(), "titles": list(c.titles()),
                "categories": list(c.categories()), "affiliations": affs,
                "related": [{"text": x.text(), "uri": x.uri(), "types": x.relationTypes()} for x in c.relateds()],
                "urls": [u.url() for u in c.urls()], "impp": list(c.imAddresses()),
                "emails": [{"address": e.address(), "types": e.types()} for e in c.emailAddresses()],
                "phones": [{"number": t.number(), "types": t.types()} for t in c.telephones()],
                "addresses": [{"types": a.types(), "label": a.label(), "street": a.street(), "locality": a.locality(),
                               "region": a.region(), "code": a.code(), "country": a.country()} for a in c.addresses()],
                "bday": dt(c.bDay()), "anniversary": dt(c.anniversary()),
                "gender": {k.Contact.Male: "M", k.Contact.Female: "F"}.get(c.gender(), ""),
                "photo_mime": c.photoMimetype(), "photo": base64.b64encode(photo).decode(),
                "last_modified": dt(c.lastModified()), "custom": customs(c)}

    readers = {"event": k.readEvent, "task": k.readTodo, "journal": k.readJournal, "contact": k.readContact,
               "distlist": k.readDistlist, "note": k.readNote}
    results = []
    for doc in req["docs"]:
        kind = doc["kind"]
        xml = base64.b64decode(doc["xml"]).decode("utf-8")
        res = {"kind": kind}
        try:
            o = readers[kind](xml, False)
            res["error_level"] = k.error()
            res["error_message"] = k.errorMessage() if k.error() else ""
            if k.error() < k.Error:
                if kind in ("event", "task", "journal"):
                    res["incidence"] = incidence(o, kind)
                elif kind == "contact":
                    res["contact"] = contact(o)
                elif kind == "distlist":
                    res["distlist"] = {"uid": o.uid(), "name": o.name(), "members": [person(m) for m in o.members()],
                                       "last_modified": dt(o.lastModified()), "custom": customs(o)}
                else:
                    res["note"] = {"uid": o.uid(), "summary": o.summary(), "description": o.description(),
                                   "color": o.color(), "categories": list(o.categories()),
                                   "class": classes.get(o.classification(), ""), "created": dt(o.created()),
                                   "last_modified": dt(o.lastModified()), "attachments": attachments(o),
                                   "custom": customs(o)}
        except Exception:
            res["error_level"] = 99
            res["error_message"] = traceback.format_exc()
        results.append(res)
    return results


# ---------------------------------------------------------------- RFC 5322 / MIME (Python's email package)

def email_mode(req):
    import email
    import email.policy
    import hashlib
    results = []
    for raw in req["docs"]:
        b = base64.b64decode(raw)
        res = {}
        try:
            msg = email.message_from_bytes(b, policy=email.policy.default)
            res["defects"] = [repr(d) for d in msg.defects]
            res["headers"] = [[k, str(v)] for k, v in msg.items()]
            for h in msg.keys():
                for v in msg.get_all(h):
                    res["defects"] += ["%s: %r" % (h, d) for d in getattr(v, "defects", ())]
            res["subject"] = str(msg.get("Subject", ""))

            def addrs(name):
                h = msg.get(name)
                if h is None:
                    return []
                return [{"name": a.display_name, "email": a.addr_spec} for a in h.addresses]
            res["from"] = addrs("From")
            res["to"] = addrs("To")
            res["content_type"] = msg.get_content_type()
            parts = []
            for p in msg.walk():
                if p.is_multipart():
                    parts.append({"content_type": p.get_content_type(), "multipart": True,
                                  "defects": [repr(d) for d in p.defects]})
                    continue
                body = p.get_payload(decode=True) or b""
                parts.append({"content_type": p.get_content_type(), "charset": p.get_content_charset() or "",
                              "params": {k: str(v) for k, v in p.get_params() or [] if v},
                              "filename": p.get_filename() or "", "content_id": str(p.get("Content-ID", "")),
                              "disposition": p.get_content_disposition() or "",
                              "encoding": str(p.get("Content-Transfer-Encoding", "")),
                              "size": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                              "body": base64.b64encode(body).decode() if len(body) <= (1 << 20) else "",
                              "defects": [repr(d) for d in p.defects]})
            res["parts"] = parts
            lines = b.split(b"\n")
            res["bare_lf"] = sum(1 for l in lines[:-1] if not l.endswith(b"\r"))
            res["longest_line"] = max(len(l.rstrip(b"\r")) for l in lines)
        except Exception:
            res["error"] = traceback.format_exc()
        results.append(res)
    return results


# ---------------------------------------------------------------- iCalendar (icalendar, dateutil)

def ical_mode(req):
    try:
        import icalendar
        from dateutil import rrule as durrule
        from dateutil import tz as dutz
    except ImportError as e:
        fatal("python3-icalendar or python3-dateutil is missing (%s)" % e)
    import datetime
    import io
    utc = datetime.timezone.utc
    ws = datetime.datetime.fromisoformat(req["window_start"].replace("Z", "+00:00"))
    we = datetime.datetime.fromisoformat(req["window_end"].replace("Z", "+00:00"))

    def unfold(text):
        return text.replace("\r\n ", "").replace("\r\n\t", "")

    def raw_props(comp_text_lines):
        return comp_text_lines

    results = []
    for raw in req["docs"]:
        b = base64.b64decode(raw)
        res = {}
        try:
            text = b.decode("utf-8")
            res["long_lines"] = sum(1 for l in text.split("\r\n") if len(l.encode("utf-8")) > 75)
            res["bare_lf"] = text.replace("\r\n", "").count("\n")
            cal = icalendar.Calendar.from_ical(text)
            comps = []
            for c in cal.walk():
                props = []
                for name, v in c.property_items(recursive=False):
                    if name in ("BEGIN", "END"):
                        continue
                    vals = v if isinstance(v, list) else [v]
                    for one in vals:
                        params = dict(getattr(one, "params", {}) or {})
                        try:
                            value = one.to_ical()
                            value = value.decode() if isinstance(value, bytes) else str(value)
                        except Exception:
                            value = str(one)
                        decoded = ""
                        if isinstance(one, str):
                            decoded = str(one)
                        elif hasattr(one, "cats"):
                            decoded = ",".join(str(x) for x in one.cats)
                        props.append({"name": name, "params": {k: str(x) for k, x in params.items()},
                                      "value": value, "text": decoded})
                comps.append({"name": c.name, "props": props})
            res["components"] = comps

            # Time zones from the document's own VTIMEZONE components (dateutil's independent reader), not
            # from a zone database: this checks the generated observances.
            unf = unfold(text)
            blocks, cur = [], None
            for line in unf.split("\r\n"):
                if line == "BEGIN:VTIMEZONE":
                    cur = [line]
                elif cur is not None:
                    cur.append(line)
                    if line == "END:VTIMEZONE":
                        blocks.append("\r\n".join(cur) + "\r\n")
                        cur = None
            zones = {}
            for blk in blocks:
                z = dutz.tzical(io.StringIO(blk))
                for key in z.keys():
                    zones[key] = z.get(key)
            res["timezones"] = sorted(zones.keys())

            def parse_dt(prop):
                params = prop.params
                value = prop.to_ical().decode()
                return [parse_one(v, params.get("TZID"), params.get("VALUE")) for v in value.split(",")]

            missing = set()

            def parse_one(v, tzid, vtype):
                if len(v) == 8:
                    return datetime.datetime.strptime(v, "%Y%m%d")
                if v.endswith("Z"):
                    return datetime.datetime.strptime(v, "%Y%m%dT%H%M%SZ").replace(tzinfo=utc)
                d = datetime.datetime.strptime(v, "%Y%m%dT%H%M%S")
                if tzid:
                    if tzid not in zones:
                        missing.add(tzid)
                        return d
                    return d.replace(tzinfo=zones[tzid])
                return d

            def fmt(d):
                if d.tzinfo is None and d.hour == 0 and d.minute == 0 and d.second == 0 and getattr(d, "_date", False):
                    return d.strftime("%Y-%m-%d")
                if d.tzinfo is None:
                    return d.strftime("%Y-%m-%dT%H:%M:%S")
                return d.astimezone(utc).strftime("%Y-%m-%dT%H:%M:%SZ")

            def key(d):
                return fmt(d)

            instances = []
            for cname in ("VEVENT", "VTODO", "VJOURNAL"):
                subs = [c for c in cal.walk(cname)]
                masters = [c for c in subs if "RECURRENCE-ID" not in c]
                for m in masters:
                    uid = str(m.get("UID"))
                    start_prop = m.get("DTSTART") or m.get("DUE")
                    if start_prop is None:
                        continue
                    start = parse_dt(start_prop)[0]
                    date_only = len(start_prop.to_ical()) == 8
                    occ = [start]
                    if "RRULE" in m:
                        rs = durrule.rrulestr(m.get("RRULE").to_ical().decode(), dtstart=start, forceset=True)
                        for name in ("EXDATE", "RDATE"):
                            p = m.get(name)
                            if p is None:
                                continue
                            for one in (p if isinstance(p, list) else [p]):
                                for d in parse_dt(one):
                                    (rs.exdate if name == "EXDATE" else rs.rdate)(d)
                        lo, hi = ws, we
                        if start.tzinfo is None:
                            lo, hi = ws.replace(tzinfo=None), we.replace(tzinfo=None)
                        occ = list(rs.between(lo, hi, inc=True))
                    overrides = {}
                    for o in subs:
                        if "RECURRENCE-ID" in o and str(o.get("UID")) == uid:
                            rid = parse_dt(o.get("RECURRENCE-ID"))[0]
                            overrides[key(rid)] = o
                    for d in occ:
                        inst = {"uid": uid, "start": fmt(d) if not date_only else d.strftime("%Y-%m-%d"),
                                "summary": str(m.get("SUMMARY", "")), "recurrence_id": ""}
                        o = overrides.pop(key(d), None)
                        if o is not None:
                            os_ = parse_dt(o.get("DTSTART"))[0]
                            inst.update({"start": fmt(os_), "summary": str(o.get("SUMMARY", "")),
                                         "recurrence_id": key(d)})
                        instances.append(inst)
                    for k2, o in overrides.items():
                        res.setdefault("orphan_overrides", []).append(k2)
            res["instances"] = instances
            res["missing_timezones"] = sorted(missing)
        except Exception:
            res["error"] = traceback.format_exc()
        results.append(res)
    return results


# ---------------------------------------------------------------- vCard (vobject)

def vcard_mode(req):
    try:
        import vobject
    except ImportError as e:
        fatal("python3-vobject is missing (%s)" % e)
    results = []
    for raw in req["docs"]:
        b = base64.b64decode(raw)
        res = {}
        try:
            text = b.decode("utf-8")
            res["long_lines"] = sum(1 for l in text.split("\r\n") if len(l.encode("utf-8")) > 75)
            card = vobject.readOne(text, validate=True)
            props = []
            for line in card.getChildren():
                p = {"name": line.name, "group": line.group or "",
                     "params": {k: [str(x) for x in v] for k, v in line.params.items()}}
                v = line.value
                if line.name == "N":
                    p["parts"] = {"family": v.family, "given": v.given, "additional": v.additional,
                                  "prefix": v.prefix, "suffix": v.suffix}
                elif line.name == "ADR":
                    p["parts"] = {"box": v.box, "extended": v.extended, "street": v.street, "city": v.city,
                                  "region": v.region, "code": v.code, "country": v.country}
                elif line.name == "ORG":
                    p["list"] = [str(x) for x in v]
                elif line.name == "CATEGORIES":
                    p["list"] = [str(x) for x in v]
                elif isinstance(v, bytes):
                    p["size"] = len(v)
                    p["value"] = base64.b64encode(v).decode()
                else:
                    p["value"] = str(v)
                props.append(p)
            res["props"] = props
        except Exception:
            res["error"] = traceback.format_exc()
        results.append(res)
    return results


# ---------------------------------------------------------------- plain XML (xml.etree), for Kolab v2

def xml_mode(req):
    import xml.etree.ElementTree as ET

    def node(e):
        tag = e.tag.split("}", 1)[-1]
        return {"tag": tag, "attrs": dict(e.attrib), "text": (e.text or "").strip() if len(e) else (e.text or ""),
                "children": [node(c) for c in e]}
    results = []
    for raw in req["docs"]:
        try:
            results.append({"root": node(ET.fromstring(base64.b64decode(raw)))})
        except Exception:
            results.append({"error": traceback.format_exc()})
    return results


# ---------------------------------------------------------------- INI (configparser), for Outlook PRF files

def ini_mode(req):
    import configparser

    results = []
    for raw in req["docs"]:
        try:
            # Harsher than Windows on purpose: ';' starts a comment anywhere (as many INI readers have it),
            # and a section or key given twice is an error rather than a choice.
            p = configparser.ConfigParser(delimiters=("=",), comment_prefixes=(";",), inline_comment_prefixes=(";",),
                                          strict=True, empty_lines_in_values=False, interpolation=None,
                                          default_section="\x00no default section")
            p.optionxform = str
            p.read_string(base64.b64decode(raw).decode("utf-16"))
            results.append({"sections": [{"name": name, "keys": [[k, v] for k, v in p.items(name, raw=True)]}
                                         for name in p.sections()]})
        except Exception:
            results.append({"error": traceback.format_exc()})
    return results


def main():
    # libkolabxml writes diagnostics to stdout: send them to stderr.
    os.dup2(2, 1)
    req = json.load(sys.stdin)
    mode = sys.argv[1]
    fn = {"kolab": kolab_mode, "email": email_mode, "ical": ical_mode, "vcard": vcard_mode, "xml": xml_mode, "ini": ini_mode}[mode]
    out(json.dumps({"results": fn(req)}))


main()
