// Package egress decides which hosts the manager may connect to on behalf of the objects it reconciles.
// Whoever may create a MailServer chooses its host and port; without a limit the manager would connect
// anywhere its network reaches (databases, cloud metadata endpoints, admin consoles) on their behalf.
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// ErrNotAllowed is wrapped by every refusal.
var ErrNotAllowed = errors.New("host not allowed")

// AllowList is a set of host names, "*.domain" wildcards, IP addresses and CIDR ranges. A nil or empty
// AllowList allows everything.
type AllowList struct {
	names    []string // lower case, without a trailing dot
	suffixes []string // ".domain" for "*.domain"
	prefixes []netip.Prefix
}

// Parse reads entries such as "mail.example.com", "*.example.com", "10.0.0.0/8", "192.0.2.7", "::1".
// Empty entries are ignored.
func Parse(entries []string) (*AllowList, error) {
	a := &AllowList{}
	for _, e := range entries {
		e = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(e), "."))
		switch {
		case e == "":
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("allowed server host %q: not a CIDR range: %v", e, err)
			}
			a.prefixes = append(a.prefixes, p.Masked())
		case isIP(e):
			ip, _ := netip.ParseAddr(e)
			a.prefixes = append(a.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		case strings.HasPrefix(e, "*."):
			if !validName(e[2:]) {
				return nil, fmt.Errorf("allowed server host %q: not a domain wildcard", e)
			}
			a.suffixes = append(a.suffixes, e[1:])
		default:
			if !validName(e) {
				return nil, fmt.Errorf("allowed server host %q: not a host name, IP address or CIDR range", e)
			}
			a.names = append(a.names, e)
		}
	}
	return a, nil
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, ch := range label {
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return false
			}
		}
	}
	return true
}

// Empty reports whether a allows everything.
func (a *AllowList) Empty() bool {
	return a == nil || len(a.names)+len(a.suffixes)+len(a.prefixes) == 0
}

// String lists the entries, for messages.
func (a *AllowList) String() string {
	if a.Empty() {
		return "(everything)"
	}
	var parts []string
	parts = append(parts, a.names...)
	for _, s := range a.suffixes {
		parts = append(parts, "*"+s)
	}
	for _, p := range a.prefixes {
		parts = append(parts, p.String())
	}
	return strings.Join(parts, ", ")
}

// nameListed reports whether host matches a name or wildcard entry.
func (a *AllowList) nameListed(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, n := range a.names {
		if h == n {
			return true
		}
	}
	for _, s := range a.suffixes {
		if strings.HasSuffix(h, s) {
			return true
		}
	}
	return false
}

func (a *AllowList) addrListed(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// CheckHost says, before any connection, whether host may be dialled: a listed name, or an IP address in
// a listed range. A name that is not listed passes only when ranges are listed: the addresses it
// resolves to are then checked as the connection is made (see Control), so that a name cannot be made to
// point somewhere else between the check and the connection.
func (a *AllowList) CheckHost(host string) error {
	if a.Empty() || a.nameListed(host) {
		return nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if a.addrListed(ip) {
			return nil
		}
		return fmt.Errorf("%w: %s is not in the manager's allowed server hosts (%s)", ErrNotAllowed, host, a)
	}
	if len(a.prefixes) > 0 {
		return nil
	}
	return fmt.Errorf("%w: %s is not in the manager's allowed server hosts (%s)", ErrNotAllowed, host, a)
}

// Control returns a net.Dialer Control function for connections to host: it refuses, before the
// connection is made, every address outside the listed ranges unless host itself is a listed name. nil
// when everything is allowed.
func (a *AllowList) Control(host string) func(network, address string, c syscall.RawConn) error {
	if a.Empty() || a.nameListed(host) {
		return nil
	}
	return func(network, address string, _ syscall.RawConn) error {
		h, _, err := net.SplitHostPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrNotAllowed, address)
		}
		ip, err := netip.ParseAddr(h)
		if err != nil || !a.addrListed(ip) {
			return fmt.Errorf("%w: %s resolves to %s, which is not in the manager's allowed server hosts (%s)",
				ErrNotAllowed, host, h, a)
		}
		return nil
	}
}
