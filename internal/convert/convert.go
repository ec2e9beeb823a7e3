// Package convert turns Outlook items read from a PST into what is appended to an IMAP server: the message
// bytes, the IMAP flags and internal date, and the kind of folder the item belongs in.
//
// Mail (IPM.Note, IPM.Post, reports, meeting requests) becomes an RFC 5322 message built from the item's own
// transport headers when it kept them, or from its properties when it did not: recipients, bodies (plain,
// HTML, and RTF decompressed and de-encapsulated), attachments with their names and Content-IDs, embedded
// messages as message/rfc822. Calendar items, contacts, distribution lists, tasks, sticky notes and journal
// entries become groupware objects (package groupware): Kolab v3 by default, or plain iCalendar/vCard, or
// Kolab v2.
//
// Output is deterministic: the same item converts to the same bytes every time (Message-IDs, UIDs and MIME
// boundaries are derived from the store and the item), which is what lets a migration recognise what it
// already copied. A Converter is safe for concurrent use.
package convert

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/pst"
)

// Options choose how items are converted.
type Options struct {
	// Format is the format of groupware items (calendar, contacts, tasks, notes, journal); Kolab v3 when unset.
	Format groupware.Format
	// Addresses resolves Exchange X.500 addresses to SMTP; see ScanAddresses. Nil resolves only what each
	// item carries itself.
	Addresses *AddressBook
	// ExchangeDomain is the domain of IMCEAEX addresses made for Exchange DNs that cannot be resolved;
	// "exchange.invalid" when empty.
	ExchangeDomain string
	// Owner is the mailbox owner, written as From/To of groupware objects (Kolab stores them as mail from
	// the owner to the owner). When empty the store's display name is used, with no address.
	Owner groupware.Person
}

// Converter converts the items of one PST file.
type Converter struct {
	f        *pst.File
	opts     Options
	book     *AddressBook
	storeKey []byte
	owner    groupware.Person
}

// New prepares a converter for the items of f.
func New(f *pst.File, opts Options) (*Converter, error) {
	st, err := f.Store()
	if err != nil {
		return nil, fmt.Errorf("convert: %w", err)
	}
	c := &Converter{f: f, opts: opts, book: opts.Addresses, storeKey: st.RecordKey, owner: opts.Owner}
	if c.owner.Name == "" && c.owner.Email == "" {
		c.owner.Name = st.DisplayName
	}
	return c, nil
}

// Result describes one converted item.
type Result struct {
	// Kind is what the item became, and so the kind of folder it belongs in (an appointment found in a mail
	// folder is still an event).
	Kind groupware.Kind
	// Class is the item's PR_MESSAGE_CLASS.
	Class string
	// MessageID is the Message-ID of the written message: the item's own, or a deterministic one.
	MessageID string
	// Flags are the IMAP system flags (\Seen, \Answered, \Flagged, \Draft) and keywords ($Forwarded).
	Flags []string
	// InternalDate is the IMAP internal date: when the item was delivered (or sent, or created).
	InternalDate time.Time
	// Categories are the item's Outlook categories (also written into the message).
	Categories []string
	// Warnings say what could not be carried over exactly and how it was preserved instead.
	Warnings []string
	// Size is the number of bytes written.
	Size int64
}

func (r *Result) warn(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// Convert writes the item m as one message to w and describes it. On error, what was written to w is
// incomplete and must be discarded; the error names the item and what failed.
func (c *Converter) Convert(w io.Writer, m *pst.Message) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("item %#x (%s): internal error converting a damaged item: %v", uint32(m.NID), m.Class, r)
		}
	}()
	id := c.identity(m)
	res = &Result{Class: m.Class, Kind: ItemKind(m.Class)}
	res.Flags = flags(m, res)
	res.InternalDate = internalDate(m)
	res.Categories = categories(m)
	cw := &countingWriter{w: w}
	bw := getItemWriter(cw)
	defer putItemWriter(bw)
	if res.Kind != groupware.KindMail {
		item, gerr := c.groupwareItem(m, id, res)
		if gerr == nil {
			res.MessageID = id.messageID()
			env := groupware.Envelope{From: c.owner, Date: item.Base().LastModified, MessageID: res.MessageID}
			if err := groupware.WriteMessage(bw, item, c.opts.Format, env); err != nil {
				return nil, fmt.Errorf("item %#x (%s): %w", uint32(m.NID), m.Class, err)
			}
			if err := bw.Flush(); err != nil {
				return nil, err
			}
			res.Size = cw.n
			return res, nil
		}
		// What cannot become a groupware object is still carried over whole, as the mail Outlook would
		// show, and the reason is reported.
		res.warn("%s item kept as a mail message: %v", res.Kind, gerr)
		res.Kind = groupware.KindMail
	}
	if err := c.writeMail(bw, m, id, res, true); err != nil {
		return nil, fmt.Errorf("item %#x (%s): %w", uint32(m.NID), m.Class, err)
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	res.Size = cw.n
	return res, nil
}

func (c *Converter) identity(m *pst.Message) identity {
	return identity{store: c.storeKey, nid: uint32(m.NID), created: unixNano(props{m}.time(tagCreationTime))}
}

// MessageID is the Message-ID Convert writes for m, found without converting it: a migration checks it
// against the target folder before it spends the work.
func (c *Converter) MessageID(m *pst.Message) string {
	id := c.identity(m)
	if ItemKind(m.Class) != groupware.KindMail {
		return id.messageID()
	}
	return mailMessageID(m, id)
}

// itemWriters recycles the 64 KiB output buffers of Convert: one per item would be most of what an export
// allocates.
var itemWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

func getItemWriter(w io.Writer) *bufio.Writer {
	bw := itemWriters.Get().(*bufio.Writer)
	bw.Reset(w)
	return bw
}

// putItemWriter returns bw to the pool, dropping what it still holds (an item that failed half-way) and its
// destination.
func putItemWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	itemWriters.Put(bw)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ItemKind says what an item of this message class becomes. Meeting requests and responses, task requests
// and reports are mail: they travelled as mail and belong in mail folders.
func ItemKind(class string) groupware.Kind {
	c := strings.ToUpper(class)
	switch {
	case hasClassPrefix(c, "IPM.APPOINTMENT"), c == "IPM.OLE.CLASS.{00061055-0000-0000-C000-000000000046}":
		return groupware.KindEvent
	case hasClassPrefix(c, "IPM.CONTACT"), hasClassPrefix(c, "IPM.ABCHPERSON"):
		return groupware.KindContact
	case hasClassPrefix(c, "IPM.DISTLIST"):
		return groupware.KindDistList
	case hasClassPrefix(c, "IPM.TASK"):
		return groupware.KindTask
	case hasClassPrefix(c, "IPM.STICKYNOTE"):
		return groupware.KindNote
	case hasClassPrefix(c, "IPM.ACTIVITY"):
		return groupware.KindJournal
	}
	return groupware.KindMail
}

// hasClassPrefix matches a message class and its subclasses ("IPM.Contact" and "IPM.Contact.Custom"), not
// unrelated classes that share a prefix ("IPM.TaskRequest").
func hasClassPrefix(class, prefix string) bool {
	return class == prefix || strings.HasPrefix(class, prefix+".")
}

// FolderKind is the kind of items a PST folder holds, from its PR_CONTAINER_CLASS ("IPF.Appointment", …), so
// a migration can send it to the matching special folder. Unknown and absent classes are mail.
func FolderKind(containerClass string) groupware.Kind {
	c := strings.ToUpper(containerClass)
	switch {
	case hasClassPrefix(c, "IPF.APPOINTMENT"):
		return groupware.KindEvent
	case hasClassPrefix(c, "IPF.CONTACT"):
		return groupware.KindContact
	case hasClassPrefix(c, "IPF.TASK"):
		return groupware.KindTask
	case hasClassPrefix(c, "IPF.STICKYNOTE"):
		return groupware.KindNote
	case hasClassPrefix(c, "IPF.JOURNAL"):
		return groupware.KindJournal
	}
	return groupware.KindMail
}
