package convert

import (
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"sync"

	"github.com/mailshift/mailshift/internal/pst"
)

// AddressBook resolves Exchange X.500 addresses ("/O=ORG/OU=…/CN=RECIPIENTS/CN=JDOE") to SMTP addresses. A
// PST has no address book of its own, but the store often knows both forms of an address: a recipient row
// with PR_EMAIL_ADDRESS and PR_SMTP_ADDRESS, a sender with PR_SENDER_EMAIL_ADDRESS and
// PR_SENDER_SMTP_ADDRESS. ScanAddresses collects those pairs so every item can use them.
type AddressBook struct {
	mu   sync.RWMutex
	smtp map[string]string // upper-cased X.500 DN → SMTP address
}

// NewAddressBook is an empty book; Add fills it.
func NewAddressBook() *AddressBook { return &AddressBook{smtp: map[string]string{}} }

// Add records that the Exchange DN dn is the SMTP address smtp. Pairs that are not a DN and an SMTP address
// are ignored.
func (b *AddressBook) Add(dn, smtp string) {
	dn, smtp = strings.TrimSpace(dn), strings.TrimSpace(smtp)
	if !strings.HasPrefix(dn, "/") || !isSMTP(smtp) {
		return
	}
	b.mu.Lock()
	b.smtp[strings.ToUpper(dn)] = smtp
	b.mu.Unlock()
}

// Lookup returns the SMTP address known for an Exchange DN.
func (b *AddressBook) Lookup(dn string) (string, bool) {
	if b == nil {
		return "", false
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	s, ok := b.smtp[strings.ToUpper(strings.TrimSpace(dn))]
	return s, ok
}

// Len is the number of DNs the book resolves.
func (b *AddressBook) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.smtp)
}

// ScanAddresses reads every item of the store once and collects the DN/SMTP pairs it holds. Items that
// cannot be read are passed over: the book is an aid, never a reason to fail.
func ScanAddresses(f *pst.File) *AddressBook {
	b := NewAddressBook()
	_ = f.Folders(func(fo *pst.Folder) error {
		_ = fo.Messages(func(m *pst.Message) error {
			p := props{m}
			if strings.EqualFold(p.str(tagSenderAddrType), "EX") {
				b.Add(p.str(tagSenderEmail), p.str(tagSenderSMTPAddress))
			}
			if strings.EqualFold(p.str(tagSentReprAddrType), "EX") {
				b.Add(p.str(tagSentReprEmail), p.str(tagSentReprSMTPAddress))
			}
			rcpts, _ := m.Recipients()
			for _, r := range rcpts {
				if strings.EqualFold(r.AddressType, "EX") {
					b.Add(r.Address, r.SMTPAddress)
				}
			}
			return nil
		})
		return nil
	})
	return b
}

func isSMTP(s string) bool {
	if s == "" || strings.ContainsAny(s, " <>\r\n\"(),;:") {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1
}

// address is one sender or recipient as the item stores it.
type address struct {
	name, addrType, addr, smtp string
}

// resolve returns the SMTP address for a, and whether it is a real one. An Exchange DN that the store cannot
// resolve is encapsulated the way Exchange itself does when such an address leaves it (IMCEAEX-…@domain),
// so it stays a valid, reversible address instead of being dropped.
func (c *Converter) resolve(a address) (string, bool) {
	if isSMTP(a.smtp) {
		return a.smtp, true
	}
	if isSMTP(a.addr) && !strings.EqualFold(a.addrType, "EX") {
		return a.addr, true
	}
	if a.addr == "" && isSMTP(strings.TrimSpace(a.name)) {
		// No address, but the display name is one: Outlook shows it, so it is the address.
		return strings.TrimSpace(a.name), true
	}
	if strings.HasPrefix(strings.TrimSpace(a.addr), "/") {
		if s, ok := c.book.Lookup(a.addr); ok {
			return s, true
		}
		return imceaex(a.addr, c.opts.ExchangeDomain), false
	}
	return "", false
}

// formatAddress writes "Name <addr>" for a header. With no address at all, the name alone becomes an empty
// group ("Name:;"), which keeps the header valid and the name visible.
func (c *Converter) formatAddress(a address) string {
	name := strings.TrimSpace(cleanHeaderText(a.name))
	addr, _ := c.resolve(a)
	if addr != "" {
		if strings.EqualFold(name, addr) {
			name = ""
		}
		return (&mail.Address{Name: name, Address: addr}).String()
	}
	if name == "" {
		name = strings.TrimSpace(cleanHeaderText(a.addr))
	}
	if name == "" {
		return ""
	}
	return mime.QEncoding.Encode("utf-8", strings.NewReplacer(":", " ", ";", " ", ",", " ", "\"", "'").Replace(name)) + ":;"
}

// imceaex encapsulates an X.500 DN in an SMTP local part: "/" becomes "_", characters outside a plain atom
// become +XX ([MS-OXCMAIL] 2.1.3.1.5 IMCEA encapsulation).
func imceaex(dn, domain string) string {
	if domain == "" {
		domain = "exchange.invalid"
	}
	var b strings.Builder
	b.WriteString("IMCEAEX-")
	for _, c := range []byte(strings.TrimSpace(dn)) {
		switch {
		case c == '/':
			b.WriteByte('_')
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', strings.IndexByte("!#$%&'*-=?^`{|}~", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "+%02X", c)
		}
	}
	b.WriteByte('@')
	b.WriteString(domain)
	return b.String()
}
