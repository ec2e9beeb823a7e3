package convert

import (
	"bufio"
	"encoding/binary"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/text/encoding/htmlindex"

	"github.com/mailshift/mailshift/internal/pst"
)

// structureFields are the header fields that describe the MIME structure of the original message. The
// conversion writes its own structure, so the stored ones would contradict it.
var structureFields = map[string]bool{
	"content-type": true, "content-transfer-encoding": true, "mime-version": true,
	"content-disposition": true, "content-id": true, "content-description": true, "content-length": true,
}

// addressFields are the header fields that hold addresses.
var addressFields = map[string]bool{"from": true, "sender": true, "reply-to": true, "to": true, "cc": true, "bcc": true,
	"resent-from": true, "resent-sender": true, "resent-to": true, "resent-cc": true, "resent-bcc": true}

// headerDecoder decodes RFC 2047 words in any charset WHATWG knows, with its label rules: "gb2312" is read
// as GBK, which is what mailers that write that label actually send.
var headerDecoder = &mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return enc.NewDecoder().Reader(r), nil
}}

// normalizeAddressField rewrites a stored address field in today's syntax: old mailers wrote unquoted
// periods in names, raw 8-bit names and mislabelled encoded words, which strict readers flag or misread.
// The addresses and names stay what they were; a field that cannot be parsed is kept byte for byte.
func normalizeAddressField(f headerField) (string, bool) {
	_, raw, _ := strings.Cut(strings.Join(f.lines, ""), ":")
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", false
	}
	list, err := (&mail.AddressParser{WordDecoder: headerDecoder}).ParseList(raw)
	if err != nil || len(list) == 0 {
		return "", false
	}
	out := make([]string, len(list))
	for i, a := range list {
		a.Name = strings.TrimSpace(cleanHeaderText(a.Name))
		out[i] = a.String()
	}
	return strings.Join(out, ", "), true
}

// headerField is one header field as stored: its name and its raw lines (folded continuation lines kept).
type headerField struct {
	name  string
	lines []string
}

// parseTransportHeaders splits PR_TRANSPORT_MESSAGE_HEADERS into fields, stopping at the first empty line
// (the end of a header block) and skipping lines that are not header fields.
func parseTransportHeaders(th string) []headerField {
	th = strings.ReplaceAll(th, "\r\n", "\n")
	var out []headerField
	for _, l := range strings.Split(th, "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			if len(out) > 0 {
				break
			}
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			if len(out) > 0 {
				out[len(out)-1].lines = append(out[len(out)-1].lines, l)
			}
			continue
		}
		name, _, ok := strings.Cut(l, ":")
		if !ok || !validFieldName(name) {
			continue
		}
		out = append(out, headerField{name: name, lines: []string{l}})
	}
	return out
}

func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// writeHeaders writes the message header without its MIME structure fields. An item that kept its transport
// headers keeps them (less the structure fields); the fields a message must have and that they lack
// (From, Date, Message-ID) are added from the item's properties. Otherwise the header is made from the
// properties. It returns the Message-ID written.
//
// forceID, when set, replaces any Message-ID: a groupware item kept as mail keeps the identity it would have
// had as a groupware object, so a re-run recognises it either way.
func (c *Converter) writeHeaders(w *bufio.Writer, m *pst.Message, id identity, forceID string) string {
	p := props{m}
	have := map[string]bool{}
	msgID := forceID
	if msgID == "" {
		msgID = mailMessageID(m, id)
	}
	if th := p.str(tagTransportHeaders); strings.TrimSpace(th) != "" {
		for _, f := range parseTransportHeaders(th) {
			lname := strings.ToLower(f.name)
			if structureFields[lname] || (forceID != "" && lname == "message-id") {
				continue
			}
			have[lname] = true
			if addressFields[lname] {
				if v, ok := normalizeAddressField(f); ok {
					writeField(w, f.name, v)
					continue
				}
			}
			for _, l := range f.lines {
				w.WriteString(l)
				w.WriteString("\r\n")
			}
		}
	}
	if !have["from"] {
		if from := c.fromAddress(m); from != "" {
			writeField(w, "From", from)
		}
	}
	// A stored header block without From and Subject is not the message's real header (Outlook's own welcome
	// mails carry a lone Received line): the properties supply the rest.
	if !have["subject"] && !(have["from"] && have["to"]) {
		c.writeSyntheticHeaders(w, m, have)
	}
	if !have["date"] {
		if d := messageDate(m); !d.IsZero() {
			writeField(w, "Date", d.Format(time.RFC1123Z))
		}
	}
	if !have["message-id"] {
		writeField(w, "Message-ID", msgID)
	}
	if m.Class != "" && !hasClassPrefix(strings.ToUpper(m.Class), "IPM.NOTE") && !have["x-ms-message-class"] {
		writeField(w, "X-MS-Message-Class", encodeText(m.Class))
	}
	return msgID
}

// mailMessageID is the Message-ID a mail is written with: the one in its stored header, else
// PR_INTERNET_MESSAGE_ID, else one derived from the item's identity.
func mailMessageID(m *pst.Message, id identity) string {
	p := props{m}
	if th := p.str(tagTransportHeaders); strings.TrimSpace(th) != "" {
		for _, f := range parseTransportHeaders(th) {
			if strings.EqualFold(f.name, "message-id") {
				_, v, _ := strings.Cut(strings.Join(f.lines, ""), ":")
				return strings.TrimSpace(v)
			}
		}
	}
	if msgID := strings.TrimSpace(p.str(tagInternetMessageID)); validMessageID(msgID) {
		return msgID
	}
	return id.messageID()
}

// writeSyntheticHeaders writes what an item without transport headers says about itself: sender,
// recipients, subject, threading, importance and sensitivity.
func (c *Converter) writeSyntheticHeaders(w *bufio.Writer, m *pst.Message, have map[string]bool) {
	p := props{m}
	field := func(name, value string) {
		if !have[strings.ToLower(name)] {
			writeField(w, name, value)
		}
	}
	sender := address{name: p.str(tagSenderName), addrType: p.str(tagSenderAddrType), addr: p.str(tagSenderEmail), smtp: p.str(tagSenderSMTPAddress)}
	from := address{name: p.str(tagSentReprName), addrType: p.str(tagSentReprAddrType), addr: p.str(tagSentReprEmail), smtp: p.str(tagSentReprSMTPAddress)}
	if from.name != "" || from.addr != "" {
		sa, _ := c.resolve(sender)
		fa, _ := c.resolve(from)
		if sa != "" && !strings.EqualFold(sa, fa) {
			field("Sender", c.formatAddress(sender))
		}
	}
	if rt := replyTo(p.bytes(0x004F)); len(rt) > 0 {
		var list []string
		for _, a := range rt {
			if s := c.formatAddress(a); s != "" {
				list = append(list, s)
			}
		}
		if len(list) > 0 {
			field("Reply-To", strings.Join(list, ", "))
		}
	}
	rcpts, _ := m.Recipients()
	var to, cc, bcc []string
	for _, r := range rcpts {
		s := c.formatAddress(address{name: r.DisplayName, addrType: r.AddressType, addr: r.Address, smtp: r.SMTPAddress})
		if s == "" {
			continue
		}
		switch r.Type {
		case pst.RecipientCc:
			cc = append(cc, s)
		case pst.RecipientBcc:
			// Kept: the item is the owner's own copy, and Outlook showed its Bcc line.
			bcc = append(bcc, s)
		default:
			to = append(to, s)
		}
	}
	for _, h := range []struct {
		name string
		list []string
	}{{"To", to}, {"Cc", cc}, {"Bcc", bcc}} {
		if len(h.list) > 0 {
			field(h.name, strings.Join(h.list, ", "))
		}
	}
	if m.Subject != "" {
		field("Subject", encodeText(m.Subject))
	}
	for _, h := range []struct {
		name string
		id   uint16
	}{{"In-Reply-To", tagInReplyTo}, {"References", tagReferences}} {
		if v := strings.Join(strings.Fields(cleanHeaderText(p.str(h.id))), " "); v != "" {
			field(h.name, v)
		}
	}
	if imp, ok := p.int(tagImportance); ok {
		switch imp {
		case 0:
			field("Importance", "low")
			field("X-Priority", "5 (Lowest)")
		case 2:
			field("Importance", "high")
			field("X-Priority", "1 (Highest)")
		}
	}
	if sens, ok := p.int(tagSensitivity); ok {
		switch sens {
		case 1:
			field("Sensitivity", "Personal")
		case 2:
			field("Sensitivity", "Private")
		case 3:
			field("Sensitivity", "Company-Confidential")
		}
	}
	if cats := categories(m); len(cats) > 0 {
		enc := make([]string, len(cats))
		for i, s := range cats {
			enc[i] = encodeText(s)
		}
		field("Keywords", strings.Join(enc, ", "))
	}
}

// fromAddress is the author: the "sent representing" user (who the mail is from), else the sender.
func (c *Converter) fromAddress(m *pst.Message) string {
	p := props{m}
	if s := c.formatAddress(address{name: p.str(tagSentReprName), addrType: p.str(tagSentReprAddrType), addr: p.str(tagSentReprEmail), smtp: p.str(tagSentReprSMTPAddress)}); s != "" {
		return s
	}
	return c.formatAddress(address{name: p.str(tagSenderName), addrType: p.str(tagSenderAddrType), addr: p.str(tagSenderEmail), smtp: p.str(tagSenderSMTPAddress)})
}

// messageDate is the Date of a mail: when it was sent, else delivered, else created.
func messageDate(m *pst.Message) time.Time {
	p := props{m}
	for _, id := range []uint16{tagClientSubmitTime, tagDeliveryTime, tagCreationTime, tagLastModificationTime} {
		if t := p.time(id); !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// validMessageID accepts "<left@right>" with nothing that would break the header.
func validMessageID(s string) bool {
	return len(s) > 4 && s[0] == '<' && s[len(s)-1] == '>' && strings.Contains(s, "@") &&
		!strings.ContainsAny(s[1:len(s)-1], " \t\r\n<>\"")
}

// oneOffProvider is the provider UID of a one-off entry ID ([MS-OXCDATA] 2.2.5.1).
var oneOffProvider = []byte{0x81, 0x2B, 0x1F, 0xA4, 0xBE, 0xA3, 0x10, 0x19, 0x9D, 0x6E, 0x00, 0xDD, 0x01, 0x0F, 0x54, 0x02}

// replyTo reads PR_REPLY_RECIPIENT_ENTRIES, a FlatEntryList ([MS-OXCDATA] 2.3.3): the one-off entry IDs in
// it carry display name, address type and address. Other entry IDs (address book entries) are skipped.
func replyTo(b []byte) []address {
	if len(b) < 8 {
		return nil
	}
	count := int(binary.LittleEndian.Uint32(b))
	b = b[8:]
	var out []address
	for i := 0; i < count && len(b) >= 4; i++ {
		n := int(binary.LittleEndian.Uint32(b))
		if n < 0 || 4+n > len(b) {
			break
		}
		if a, ok := oneOffEntry(b[4 : 4+n]); ok {
			out = append(out, a)
		}
		adv := 4 + n
		if pad := adv % 4; pad != 0 {
			adv += 4 - pad
		}
		if adv > len(b) {
			break
		}
		b = b[adv:]
	}
	return out
}

func oneOffEntry(e []byte) (address, bool) {
	if len(e) < 24 || string(e[4:20]) != string(oneOffProvider) {
		return address{}, false
	}
	flags := binary.LittleEndian.Uint16(e[22:])
	rest := e[24:]
	var fields []string
	for k := 0; k < 3; k++ {
		var s string
		if flags&0x8000 != 0 { // MAPI_UNICODE
			var u []uint16
			for len(rest) >= 2 {
				c := binary.LittleEndian.Uint16(rest)
				rest = rest[2:]
				if c == 0 {
					break
				}
				u = append(u, c)
			}
			s = string(utf16.Decode(u))
		} else {
			i := 0
			for i < len(rest) && rest[i] != 0 {
				i++
			}
			s = string(rest[:i])
			if i < len(rest) {
				i++
			}
			rest = rest[i:]
		}
		fields = append(fields, s)
	}
	return address{name: fields[0], addrType: fields[1], addr: fields[2]}, fields[2] != ""
}
