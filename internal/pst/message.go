package pst

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mailshift/mailshift/internal/pst/ltp"
	"github.com/mailshift/mailshift/internal/pst/ndb"
)

// maxEmbedDepth bounds message-in-message nesting, so a loop in a damaged file cannot recurse forever.
const maxEmbedDepth = 32

// Message is one item: a mail, contact, appointment, task, FAI configuration item, or an embedded message.
type Message struct {
	NID ndb.NID
	// Class is PR_MESSAGE_CLASS ("IPM.Note", "IPM.Contact", ...).
	Class string
	// Subject is PR_SUBJECT with its prefix control characters (0x01, length) stripped.
	Subject string
	// CodePage decodes the item's ANSI strings: PR_MESSAGE_CODEPAGE, else PR_INTERNET_CPID, else the file's
	// (File.CodePage: the caller's, the store's, or detected).
	CodePage int

	f     *File
	node  *ndb.Node
	pc    *ltp.PropertyContext
	depth int
}

// Prop is one property of an item. Name is set for named properties (IDs 0x8000 and up).
type Prop struct {
	Tag   uint32 // property ID << 16 | property type
	Name  *NamedProp
	Value ltp.Value
}

// ID is the property ID, the high half of the tag.
func (p Prop) ID() uint16 { return uint16(p.Tag >> 16) }

// Message reads the item with this NID.
func (f *File) Message(nid ndb.NID) (_ *Message, err error) {
	defer recoverPanic("message", nid, &err)
	n, err := f.db.Node(nid)
	if err != nil {
		return nil, fmt.Errorf("message %#x: %w", uint32(nid), err)
	}
	m, err := f.messageFromNode(n, nid, 0)
	if err != nil {
		return nil, fmt.Errorf("message %#x: %w", uint32(nid), err)
	}
	return m, nil
}

func (f *File) messageFromNode(n *ndb.Node, nid ndb.NID, depth int) (*Message, error) {
	pc, err := ltp.OpenPC(n)
	if err != nil {
		return nil, err
	}
	m := &Message{NID: nid, f: f, node: n, pc: pc, depth: depth}
	m.CodePage = m.codePage()
	m.Class = m.String(propMessageClass)
	m.Subject = stripSubjectPrefix(m.String(propSubject))
	return m, nil
}

func (m *Message) codePage() int {
	if v, ok := m.pc.Get(propMessageCodePage); ok {
		if cp := int(intValue(v)); cp > 0 {
			return cp
		}
	}
	if v, ok := m.pc.Get(propInternetCPID); ok {
		if cp := ansiCodePage(int(intValue(v))); cp > 0 {
			return cp
		}
	}
	return m.f.storeCodePage()
}

// ansiCodePage maps an internet code page (PR_INTERNET_CPID: the charset the item was sent or received in)
// to the Windows code page Outlook stores ANSI strings in. A Japanese mail received as ISO-2022-JP (50220)
// has its PtypString8 properties in Shift-JIS (932), for example. 0 means the CPID says nothing about the
// stored strings (UTF-8, UTF-16): use the store's code page.
func ansiCodePage(cp int) int {
	switch cp {
	case 50220, 50221, 50222, 51932, 20932, 10001:
		return 932
	case 50225, 51949, 10003:
		return 949
	case 50227, 52936, 20936, 10008, 54936:
		return 936
	case 51950, 10002:
		return 950
	case 20127, 28591, 28605, 10000:
		return 1252
	case 28592, 10029:
		return 1250
	case 28595, 20866, 21866, 10007:
		return 1251
	case 28597, 10006:
		return 1253
	case 28599, 10081:
		return 1254
	case 28598, 38598, 10005:
		return 1255
	case 28596, 10004:
		return 1256
	case 28594, 28603:
		return 1257
	case 65000, 65001, 1200, 1201, 12000, 12001:
		return 0
	}
	return cp
}

// stripSubjectPrefix removes the two control characters Outlook puts before a subject that has a prefix
// ("RE: "): 0x01 and the prefix length ([MS-PST] 2.5.3.1.1, [MS-OXCMSG] PidTagSubject).
func stripSubjectPrefix(s string) string {
	if len(s) > 0 && s[0] == 0x01 {
		r := []rune(s)
		if len(r) >= 2 {
			return string(r[2:])
		}
		return ""
	}
	return s
}

// Get returns one property by ID.
func (m *Message) Get(id uint16) (ltp.Value, bool) { return m.pc.Get(id) }

// String returns a string property decoded in the item's code page, "" when absent or not a string.
func (m *Message) String(id uint16) string {
	v, ok := m.pc.Get(id)
	if !ok {
		return ""
	}
	return stringValue(v, m.CodePage)
}

// Int returns an integer property, 0 when absent.
func (m *Message) Int(id uint16) int64 {
	v, ok := m.pc.Get(id)
	if !ok {
		return 0
	}
	return intValue(v)
}

// Time returns a time property, the zero time when absent.
func (m *Message) Time(id uint16) time.Time {
	v, ok := m.pc.Get(id)
	if !ok {
		return time.Time{}
	}
	t, err := v.Time()
	if err != nil {
		return time.Time{}
	}
	return t
}

// Props returns every property of the item, named properties resolved through the NAMEID map.
func (m *Message) Props() []Prop {
	all := m.pc.All()
	out := make([]Prop, 0, len(all))
	nm, _ := m.f.nameMap()
	for _, v := range all {
		p := Prop{Tag: uint32(v.ID)<<16 | uint32(v.Type), Value: v}
		if v.ID >= 0x8000 && nm != nil {
			if np, ok := nm.byID[v.ID]; ok {
				np := np
				p.Name = &np
			}
		}
		out = append(out, p)
	}
	return out
}

// Named returns a named property: guid is the property set in the byte order of a Windows GUID (see
// ParseGUID), nameOrID an integer LID (any integer type) or a string name.
func (m *Message) Named(guid [16]byte, nameOrID any) (ltp.Value, bool) {
	nm, err := m.f.nameMap()
	if err != nil || nm == nil {
		return ltp.Value{}, false
	}
	id, ok := nm.lookup(guid, nameOrID)
	if !ok {
		return ltp.Value{}, false
	}
	return m.pc.Get(id)
}

// Recipient is one row of an item's recipient table.
type Recipient struct {
	Type        int // PR_RECIPIENT_TYPE: 1 To, 2 Cc, 3 Bcc
	DisplayName string
	Address     string // PR_EMAIL_ADDRESS: SMTP address or an Exchange DN, depending on AddressType
	AddressType string // "SMTP", "EX", ...
	SMTPAddress string // PR_SMTP_ADDRESS when present
	// Flags is PR_RECIPIENT_FLAGS (0x0002: the meeting organizer, 0x0001: sendable); TrackStatus is
	// PR_RECIPIENT_TRACKSTATUS, a meeting attendee's response (2 tentative, 3 accepted, 4 declined).
	Flags       int
	TrackStatus int
}

// Recipient types.
const (
	RecipientTo  = 1
	RecipientCc  = 2
	RecipientBcc = 3
)

// Recipients reads the item's recipient table (empty when it has none).
func (m *Message) Recipients() (_ []Recipient, err error) {
	defer recoverPanic("message", m.NID, &err)
	sub, err := m.node.Subnode(nidRecipientTable)
	if errors.Is(err, ndb.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("message %#x recipients: %w", uint32(m.NID), err)
	}
	tc, err := ltp.OpenTC(sub)
	if err != nil {
		return nil, fmt.Errorf("message %#x recipients: %w", uint32(m.NID), err)
	}
	rows := tc.Rows()
	out := make([]Recipient, 0, rows)
	for i := 0; i < rows; i++ {
		var r Recipient
		str := func(id uint16) (string, error) {
			v, ok, err := tc.Get(i, id)
			if err != nil || !ok {
				return "", err
			}
			return stringValue(v, m.CodePage), nil
		}
		v, ok, err := tc.Get(i, propRecipientType)
		if err != nil {
			return out, fmt.Errorf("message %#x recipient %d: %w", uint32(m.NID), i, err)
		}
		if ok {
			r.Type = int(intValue(v))
		}
		for _, x := range []struct {
			id  uint16
			dst *int
		}{{propRecipientFlags, &r.Flags}, {propRecipientTrackStatus, &r.TrackStatus}} {
			if v, ok, err := tc.Get(i, x.id); err == nil && ok {
				*x.dst = int(intValue(v))
			}
		}
		for _, x := range []struct {
			id  uint16
			dst *string
		}{{propDisplayName, &r.DisplayName}, {propEmailAddress, &r.Address}, {propAddrType, &r.AddressType}, {propSMTPAddress, &r.SMTPAddress}} {
			s, err := str(x.id)
			if err != nil {
				return out, fmt.Errorf("message %#x recipient %d: %w", uint32(m.NID), i, err)
			}
			*x.dst = s
		}
		out = append(out, r)
	}
	return out, nil
}

// Attachment is one attachment of an item.
type Attachment struct {
	NID ndb.NID // the attachment's subnode within its message
	// Method is PR_ATTACH_METHOD: 1 by value, 5 embedded message, 6 OLE; 0 none.
	Method int
	// Filename is PR_ATTACH_LONG_FILENAME, else PR_ATTACH_FILENAME, else PR_DISPLAY_NAME.
	Filename  string
	MIMEType  string // PR_ATTACH_MIME_TAG
	ContentID string // PR_ATTACH_CONTENT_ID
	// Size is the length of the attachment's data (PR_ATTACH_DATA_BIN); for other methods PR_ATTACH_SIZE.
	Size   int64
	Hidden bool // PR_ATTACHMENT_HIDDEN

	msg  *Message
	node *ndb.Node
	pc   *ltp.PropertyContext
}

// Attachment methods.
const (
	AttachByValue  = 1
	AttachEmbedded = 5
	AttachOLE      = 6
)

// Attachments reads the item's attachments in attachment-table order (empty when it has none).
func (m *Message) Attachments() (_ []*Attachment, err error) {
	defer recoverPanic("message", m.NID, &err)
	sub, err := m.node.Subnode(nidAttachmentTable)
	if errors.Is(err, ndb.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("message %#x attachments: %w", uint32(m.NID), err)
	}
	tc, err := ltp.OpenTC(sub)
	if err != nil {
		return nil, fmt.Errorf("message %#x attachment table: %w", uint32(m.NID), err)
	}
	rows := tc.Rows()
	out := make([]*Attachment, 0, rows)
	for i := 0; i < rows; i++ {
		rid, err := tc.RowID(i)
		if err != nil {
			return out, fmt.Errorf("message %#x attachment row %d: %w", uint32(m.NID), i, err)
		}
		a, err := m.attachment(ndb.NID(rid))
		if err != nil {
			return out, fmt.Errorf("message %#x attachment %#x: %w", uint32(m.NID), rid, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func (m *Message) attachment(nid ndb.NID) (*Attachment, error) {
	n, err := m.node.Subnode(nid)
	if err != nil {
		return nil, err
	}
	pc, err := ltp.OpenPC(n)
	if err != nil {
		return nil, err
	}
	a := &Attachment{NID: nid, msg: m, node: n, pc: pc}
	str := func(id uint16) string {
		if v, ok := pc.Get(id); ok {
			return stringValue(v, m.CodePage)
		}
		return ""
	}
	if v, ok := pc.Get(propAttachMethod); ok {
		a.Method = int(intValue(v))
	}
	a.Filename = str(propAttachLongFilename)
	if a.Filename == "" {
		a.Filename = str(propAttachFilename)
	}
	if a.Filename == "" {
		a.Filename = str(propDisplayName)
	}
	a.MIMEType = str(propAttachMIMETag)
	a.ContentID = str(propAttachContentID)
	if v, ok := pc.Get(propAttachmentHidden); ok {
		b, err := v.Bool()
		a.Hidden = err == nil && b
	}
	if v, ok := pc.Get(propAttachDataBin); ok && v.Type == ltp.PtypBinary {
		if size, err := v.Size(); err == nil {
			a.Size = size
		}
	} else if v, ok := pc.Get(propAttachSize); ok {
		a.Size = intValue(v)
	}
	return a, nil
}

// Get returns one property of the attachment.
func (a *Attachment) Get(id uint16) (ltp.Value, bool) { return a.pc.Get(id) }

// Props returns every property of the attachment.
func (a *Attachment) Props() []Prop {
	all := a.pc.All()
	out := make([]Prop, 0, len(all))
	for _, v := range all {
		out = append(out, Prop{Tag: uint32(v.ID)<<16 | uint32(v.Type), Value: v})
	}
	return out
}

// Open streams the attachment's data (PR_ATTACH_DATA_BIN). Memory use does not grow with its size.
func (a *Attachment) Open() (io.ReadCloser, error) {
	v, ok := a.pc.Get(propAttachDataBin)
	if !ok {
		return io.NopCloser(strings.NewReader("")), nil
	}
	if v.Type != ltp.PtypBinary {
		return nil, fmt.Errorf("attachment %#x: data is of type %#x, not binary (method %d)", uint32(a.NID), uint16(v.Type), a.Method)
	}
	r, _, err := v.Reader()
	if err != nil {
		return nil, fmt.Errorf("attachment %#x: %w", uint32(a.NID), err)
	}
	if rc, ok := r.(io.ReadCloser); ok {
		return rc, nil
	}
	return io.NopCloser(r), nil
}

// ErrNotEmbedded is returned by Embedded for an attachment that is not a message.
var ErrNotEmbedded = errors.New("attachment is not an embedded message")

// Embedded returns the message an attach-method-5 attachment holds; it may itself have attachments and
// embedded messages.
func (a *Attachment) Embedded() (_ *Message, err error) {
	defer recoverPanic("attachment", a.NID, &err)
	v, ok := a.pc.Get(propAttachDataBin)
	if !ok || v.Type != ltp.PtypObject {
		return nil, fmt.Errorf("attachment %#x: %w", uint32(a.NID), ErrNotEmbedded)
	}
	if a.msg.depth+1 > maxEmbedDepth {
		return nil, fmt.Errorf("attachment %#x: embedded messages nested more than %d deep", uint32(a.NID), maxEmbedDepth)
	}
	onid, _, err := v.Object()
	if err != nil {
		return nil, fmt.Errorf("attachment %#x: %w", uint32(a.NID), err)
	}
	nid := ndb.NID(onid)
	n, err := a.node.Subnode(nid)
	if err != nil {
		return nil, fmt.Errorf("attachment %#x embedded message %#x: %w", uint32(a.NID), uint32(nid), err)
	}
	m, err := a.msg.f.messageFromNode(n, nid, a.msg.depth+1)
	if err != nil {
		return nil, fmt.Errorf("attachment %#x embedded message %#x: %w", uint32(a.NID), uint32(nid), err)
	}
	return m, nil
}

// OpenObject streams the data of an OLE attachment (method 6): the compound-file storage held in the
// PtypObject value of PR_ATTACH_DATA_OBJ, read from its subnode.
func (a *Attachment) OpenObject() (io.ReadCloser, error) {
	v, ok := a.pc.Get(propAttachDataBin)
	if !ok {
		return io.NopCloser(strings.NewReader("")), nil
	}
	if v.Type == ltp.PtypBinary {
		return a.Open()
	}
	if v.Type != ltp.PtypObject {
		return nil, fmt.Errorf("attachment %#x: data is of type %#x, not an object", uint32(a.NID), uint16(v.Type))
	}
	onid, _, err := v.Object()
	if err != nil {
		return nil, fmt.Errorf("attachment %#x: %w", uint32(a.NID), err)
	}
	n, err := a.node.Subnode(ndb.NID(onid))
	if err != nil {
		return nil, fmt.Errorf("attachment %#x object %#x: %w", uint32(a.NID), onid, err)
	}
	return io.NopCloser(io.NewSectionReader(n, 0, n.Size())), nil
}
