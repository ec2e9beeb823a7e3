package main

import (
	"io"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// accountPing is what `mailshift ping imap://... -o json` prints: the same findings as the text, and
// where the check stopped when it failed (ok false; the exit code is 1 as with the text).
type accountPing struct {
	Address      string             `json:"address"`
	Login        string             `json:"login"`
	OK           bool               `json:"ok"`
	Failed       string             `json:"failed,omitempty"`    // the step that failed: "logging in", "listing the folders", ...
	ErrorKind    string             `json:"errorKind,omitempty"` // imapsession's classification, e.g. AuthenticationFailed
	LoginTime    string             `json:"loginTime,omitempty"`
	Capabilities []string           `json:"capabilities"`
	Namespaces   []accountNamespace `json:"personalNamespaces,omitempty"`
	Folders      int                `json:"folders"`
	Messages     int64              `json:"messages"`
	Quota        []accountQuota     `json:"quota,omitempty"`
}

type accountNamespace struct {
	Prefix    string `json:"prefix"`
	Separator string `json:"separator,omitempty"`
}

type accountQuota struct {
	Root     string `json:"root"`
	Resource string `json:"resource"`
	Usage    int64  `json:"usage"`
	Limit    int64  `json:"limit"`
}

func namespacesOf(ns imapconn.Namespaces) []accountNamespace {
	var out []accountNamespace
	for _, n := range ns.Personal {
		sep := ""
		if n.Delim != 0 {
			sep = string(n.Delim)
		}
		out = append(out, accountNamespace{Prefix: n.Prefix, Separator: sep})
	}
	return out
}

func (r *accountPing) write(w io.Writer) {
	if r.Capabilities == nil {
		r.Capabilities = []string{}
	}
	_ = writeJSON(w, r)
}
