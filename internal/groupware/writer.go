package groupware

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrNoUID is returned (wrapped) for an item without a UID: every format identifies objects by it, and a
// migration that is re-run finds its earlier messages by it.
var ErrNoUID = errors.New("item has no UID")

// defaultProductID is the PRODID written when the item names none.
const defaultProductID = "-//mailshift//mailshift//EN"

// WriteMessage writes it as one complete RFC 5322 message with CRLF line ends, ready for IMAP APPEND, in format
// f. The output depends only on its arguments (no clock, no randomness), so a re-run migration appends
// byte-identical messages. Attachments are streamed from Attachment.Open.
func WriteMessage(w io.Writer, it Item, f Format, env Envelope) error {
	if it == nil || it.Base() == nil {
		return errors.New("groupware: nil item")
	}
	c := it.Base()
	if strings.TrimSpace(c.UID) == "" {
		return fmt.Errorf("groupware: %s: %w", kindName(it.Kind()), ErrNoUID)
	}
	if err := checkMessageID(messageID(c, env)); err != nil {
		return fmt.Errorf("groupware: %s %q: %w", kindName(it.Kind()), c.UID, err)
	}
	var (
		m   *message
		err error
	)
	switch f {
	case FormatKolab3:
		m, err = kolab3Message(it, env)
	case FormatICal:
		m, err = icalMessage(it, env)
	case FormatKolab2:
		m, err = kolab2Message(it, env)
	default:
		return fmt.Errorf("groupware: unknown format %d", int(f))
	}
	if err != nil {
		return fmt.Errorf("groupware: %s %s %q: %w", f, kindName(it.Kind()), c.UID, err)
	}
	if err := m.write(w); err != nil {
		return fmt.Errorf("groupware: %s %s %q: %w", f, kindName(it.Kind()), c.UID, err)
	}
	return nil
}

// kindName is the Kolab object type of a kind: like Kind.String, but a distribution list is itself.
func kindName(k Kind) string {
	if k == KindDistList {
		return "distribution-list"
	}
	return k.String()
}

func productID(c *Common) string {
	if p := oneLine(c.ProductID); p != "" {
		return p
	}
	return defaultProductID
}

// kolabExplanation is the text/plain part in front of a Kolab object, for mail clients that show the folder
// as mail (KEP 17 "Kolab Groupware Object Storage Format": the first part is a human-readable note).
const kolabExplanation = "This is a Kolab Groupware object. To view this object you will need an email client\n" +
	"that understands the Kolab Groupware format. For a list of such email clients please visit\n" +
	"https://kolab.org/\n"

// kolabMessage assembles the Kolab storage message shared by formats 2 and 3: envelope headers, X-Kolab-Type,
// an explanation part, the XML part, and the attachments.
func kolabMessage(it Item, env Envelope, kolabType string, extra []header, xml mimePart, atts []mimePart) *message {
	return kolabMessageOf(it.Base(), env, kolabType, extra, xml, atts)
}

func kolabMessageOf(c *Common, env Envelope, kolabType string, extra []header, xml mimePart, atts []mimePart) *message {
	h := envelopeHeaders(c, env, c.UID)
	h = append(h, header{"X-Kolab-Type", kolabType})
	h = append(h, extra...)
	h = append(h, header{"User-Agent", "mailshift"})
	parts := []mimePart{{contentType: "text/plain", typeParams: [][2]string{{"charset", "us-ascii"}}, text: kolabExplanation}}
	parts = append(parts, xml)
	parts = append(parts, atts...)
	return &message{headers: h, parts: parts, boundary: boundaryFor(messageID(c, env), c.UID)}
}
