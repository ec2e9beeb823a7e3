package imapbulk

import (
	"context"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// RoundTrip sends a NOOP and returns how long its answer took: the network's round trip and the least a
// server takes for a command.
func (c *Conn) RoundTrip(ctx context.Context) (time.Duration, error) {
	var took time.Duration
	err := c.exec(ctx, "NOOP", func(ctx context.Context) error {
		start := time.Now()
		_, err := c.run(ctx, "NOOP", newCommand("NOOP"), nil)
		took = time.Since(start)
		return err
	})
	return took, err
}

// Namespaces returns the server's NAMESPACE (RFC 2342), prefixes decoded
// to UTF-8, asked once a session (ListStatus asks it with its LIST).
// Without NAMESPACE support it returns one personal namespace with an
// empty prefix and the delimiter from LIST "" "".
func (c *Conn) Namespaces(ctx context.Context) (imapconn.Namespaces, error) {
	var ns imapconn.Namespaces
	err := c.exec(ctx, "NAMESPACE", func(ctx context.Context) error {
		if c.namespaces != nil {
			ns = *c.namespaces
			return nil
		}
		if !c.has("NAMESPACE") {
			delim := '/'
			_, err := c.run(ctx, `LIST "" ""`, newCommand(`LIST "" ""`), func(r *response) error {
				if r.kind == "LIST" && len(r.fields) >= 2 {
					if d, ok := delimiter(r.fields[1]); ok {
						delim = d
					}
				}
				return nil
			})
			ns = imapconn.Namespaces{Personal: []imapconn.Namespace{{Prefix: "", Delim: delim}}}
			return err
		}
		_, err := c.run(ctx, "NAMESPACE", newCommand("NAMESPACE"), func(r *response) error {
			c.namespaceData(r)
			return nil
		})
		if err == nil && c.namespaces != nil {
			ns = *c.namespaces
		}
		return err
	})
	return ns, err
}

// namespaceData keeps the NAMESPACE response r, if it is one.
func (c *Conn) namespaceData(r *response) {
	if r.kind != "NAMESPACE" || len(r.fields) < 3 {
		return
	}
	c.namespaces = &imapconn.Namespaces{
		Personal: namespaceList(r.fields[0]),
		Other:    namespaceList(r.fields[1]),
		Shared:   namespaceList(r.fields[2]),
	}
}

func namespaceList(v value) []imapconn.Namespace {
	var out []imapconn.Namespace
	if v.kind != kindList {
		return nil // NIL
	}
	for _, d := range v.list {
		if d.kind != kindList || len(d.list) < 2 {
			continue
		}
		n := imapconn.Namespace{Prefix: decodeName(d.list[0].str())}
		n.Delim, _ = delimiter(d.list[1])
		out = append(out, n)
	}
	return out
}

// delimiter reads a hierarchy delimiter: a one-character string, or NIL
// for a flat namespace (0).
func delimiter(v value) (rune, bool) {
	if v.isNil() {
		return 0, true
	}
	s := v.str()
	r, size := utf8.DecodeRuneInString(s)
	if s == "" || size != len(s) || r == utf8.RuneError {
		return 0, false
	}
	return r, true
}

// decodeName decodes a modified UTF-7 name; a name that is not valid
// modified UTF-7 is returned as the server sent it.
func decodeName(s string) string {
	if d, err := imapconn.DecodeUTF7(s); err == nil {
		return d
	}
	return s
}

var specialUseAttrs = map[string]string{
	`\all`: `\All`, `\archive`: `\Archive`, `\drafts`: `\Drafts`, `\flagged`: `\Flagged`,
	`\junk`: `\Junk`, `\sent`: `\Sent`, `\trash`: `\Trash`, `\important`: `\Important`,
}

// List returns every mailbox (LIST "" "*"), names decoded to UTF-8,
// sorted by name. With LIST-EXTENDED and SPECIAL-USE (RFC 5258, 6154) it
// asks for the special-use attributes explicitly; Folder.SpecialUse is the
// first of them. Folder.Messages is -1 (not asked).
func (c *Conn) List(ctx context.Context) ([]imapconn.Folder, error) {
	out, _, err := c.list(ctx, false)
	return out, err
}

// ListStatus is List with every selectable mailbox's Status in the same
// command where the server offers LIST-STATUS (RFC 5819): one round trip
// instead of one per mailbox. Without it, or for a mailbox the server sent
// no STATUS for, the map has no entry: ask Status.
func (c *Conn) ListStatus(ctx context.Context) ([]imapconn.Folder, map[string]Status, error) {
	return c.list(ctx, true)
}

func (c *Conn) list(ctx context.Context, withStatus bool) ([]imapconn.Folder, map[string]Status, error) {
	var out []imapconn.Folder
	statuses := map[string]Status{}
	err := c.exec(ctx, "LIST", func(ctx context.Context) error {
		cmd := newCommand(`LIST "" "*"`)
		var ret []string
		if c.has("LIST-EXTENDED") && c.has("SPECIAL-USE") {
			ret = append(ret, "SPECIAL-USE")
		}
		if withStatus && c.has("LIST-STATUS") {
			ret = append(ret, "STATUS ("+c.statusItems()+")")
		}
		if len(ret) > 0 {
			cmd.sp("RETURN (" + strings.Join(ret, " ") + ")")
		}
		onData := func(r *response) error {
			if r.kind == "NAMESPACE" {
				c.namespaceData(r)
				return nil
			}
			if name, st, ok := parseStatusResponse(r); ok {
				statuses[name] = st
				return nil
			}
			if r.kind != "LIST" || len(r.fields) < 3 || r.fields[0].kind != kindList {
				return nil
			}
			f := imapconn.Folder{Name: decodeName(r.fields[2].str()), Messages: -1}
			f.Delim, _ = delimiter(r.fields[1])
			for _, a := range r.fields[0].list {
				attr := a.str()
				f.Attrs = append(f.Attrs, attr)
				if su, ok := specialUseAttrs[strings.ToLower(attr)]; ok && f.SpecialUse == "" {
					f.SpecialUse = su
				}
			}
			out = append(out, f)
			return nil
		}
		if !withStatus || !c.has("NAMESPACE") || c.namespaces != nil {
			_, err := c.run(ctx, "LIST", cmd, onData)
			return err
		}
		// The NAMESPACE goes ahead of the LIST, in the same round trip: a sync needs it (which folders are
		// the user's own).
		tags := map[string]string{}
		for _, op := range []struct {
			name string
			cmd  *command
		}{{"NAMESPACE", newCommand("NAMESPACE")}, {"LIST", cmd}} {
			tag := c.nextTag()
			if err := c.send(ctx, op.name, tag, op.cmd); err != nil {
				return err
			}
			tags[tag] = op.name
		}
		var listErr error
		err := awaitTagged(ctx, c, "LIST", tags, func(r *response, op string) {
			if r.status != "OK" && op == "LIST" {
				listErr = statusErr(op, r, false, c.secrets)
			}
		}, func(r *response) { _ = onData(r) })
		if err != nil {
			return err
		}
		return listErr
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	// A server sends STATUS only for mailboxes it listed; anything else is not believed.
	listed := make(map[string]bool, len(out))
	for _, f := range out {
		listed[f.Name] = true
	}
	for name := range statuses {
		if !listed[name] {
			delete(statuses, name)
		}
	}
	return out, statuses, err
}

// Create creates a mailbox (name in UTF-8, hierarchy by the server's
// delimiter). An existing mailbox is not an error. specialUse (e.g.
// `\Sent`, may be "") is requested with CREATE-SPECIAL-USE (RFC 6154 §3)
// when the server offers it, and silently left out otherwise.
func (c *Conn) Create(ctx context.Context, name string, specialUse string) error {
	op := "CREATE " + name
	if name == "" {
		return localErr(imapconn.ProtocolError, op, "empty mailbox name")
	}
	if specialUse != "" && (!strings.HasPrefix(specialUse, `\`) || !isAtom(specialUse[1:])) {
		return localErr(imapconn.ProtocolError, op, "invalid special-use attribute %q", specialUse)
	}
	return c.exec(ctx, op, func(ctx context.Context) error {
		cmd := newCommand("CREATE").mailbox(name)
		if specialUse != "" && c.has("CREATE-SPECIAL-USE") {
			cmd.sp("(USE (" + specialUse + "))")
		}
		r, err := c.run(ctx, op, cmd, nil)
		if err != nil && isAlreadyExists(r) {
			return nil
		}
		return err
	})
}

// Delete deletes a mailbox. A mailbox that does not exist is NotFound.
func (c *Conn) Delete(ctx context.Context, name string) error {
	op := "DELETE " + name
	return c.exec(ctx, op, func(ctx context.Context) error {
		if c.selected == name {
			c.selected = ""
		}
		_, err := c.run(ctx, op, newCommand("DELETE").mailbox(name), nil)
		return err
	})
}

// Rename renames a mailbox (and the mailboxes below it, RFC 9051 §6.3.6).
func (c *Conn) Rename(ctx context.Context, from, to string) error {
	op := "RENAME " + from
	if from == "" || to == "" {
		return localErr(imapconn.ProtocolError, op, "empty mailbox name")
	}
	return c.exec(ctx, op, func(ctx context.Context) error {
		if c.selected == from {
			c.selected = ""
		}
		_, err := c.run(ctx, op, newCommand("RENAME").mailbox(from).mailbox(to), nil)
		return err
	})
}

// isAlreadyExists recognises RFC 5530 [ALREADYEXISTS] and servers that say
// so only in words (Cyrus: "Mailbox already exists").
func isAlreadyExists(r *response) bool {
	if r == nil || r.status != "NO" {
		return false
	}
	return r.code == "ALREADYEXISTS" || strings.Contains(strings.ToLower(r.text), "already exists")
}
