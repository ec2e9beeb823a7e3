package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Flavor tells mailshift which server it talks to, for the few things IMAP leaves to the implementation
// (impersonation, group identifiers, folder layout).
// +kubebuilder:validation:Enum=dovecot;cyrus;exchange;generic
type Flavor string

const (
	FlavorDovecot  Flavor = "dovecot"
	FlavorCyrus    Flavor = "cyrus"
	FlavorExchange Flavor = "exchange"
	FlavorGeneric  Flavor = "generic"
)

// MailServerSpec describes an IMAP server.
// +kubebuilder:validation:XValidation:rule="self.tls != 'None' || (has(self.insecureAllowPlaintext) && self.insecureAllowPlaintext)",message="tls None sends passwords in clear text: set insecureAllowPlaintext: true to allow it (loopback and test servers only)"
// +kubebuilder:validation:XValidation:rule="!has(self.submission) || !has(self.submission.tls) || self.submission.tls != 'None' || (has(self.insecureAllowPlaintext) && self.insecureAllowPlaintext)",message="submission tls None sends passwords in clear text: set insecureAllowPlaintext: true to allow it (loopback and test servers only)"
type MailServerSpec struct {
	// Host name or IP address of the IMAP server.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Host string `json:"host"`
	// Port of the IMAP server. Defaults to 993 with tls Implicit, 143 otherwise.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
	// TLS mode: Implicit (IMAPS), STARTTLS, or None (needs insecureAllowPlaintext).
	// +optional
	// +kubebuilder:default=STARTTLS
	TLS TLSMode `json:"tls,omitempty"`
	// InsecureAllowPlaintext allows tls None. Passwords then cross the network in clear text.
	// +optional
	InsecureAllowPlaintext bool `json:"insecureAllowPlaintext,omitempty"`
	// CABundle is a Secret key holding PEM CA certificates that sign the server's certificate
	// (key defaults to ca.crt). Without it the system roots are used.
	// +optional
	CABundle *SecretKeyRef `json:"caBundle,omitempty"`
	// ServerName overrides the name verified in the server's certificate.
	// +optional
	ServerName string `json:"serverName,omitempty"`
	// Flavor of the server software.
	// +optional
	// +kubebuilder:default=generic
	Flavor Flavor `json:"flavor,omitempty"`
	// Admin credentials let mailshift act on a user's behalf without the user's password: a Dovecot master
	// user, or a Cyrus admin authorizing as the user with SASL PLAIN.
	// +optional
	Admin *AdminCredentials `json:"admin,omitempty"`
	// Limits on what mailshift does to this server at once, across all namespaces.
	// +optional
	Limits ServerLimits `json:"limits,omitempty"`
	// CheckInterval is how often reachability is checked again.
	// +optional
	// +kubebuilder:default="5m"
	CheckInterval *metav1.Duration `json:"checkInterval,omitempty"`
	// AllowedNamespaces lists the namespaces, besides the MailServer's own, whose Mailboxes may use it.
	// "*" allows every namespace.
	// +optional
	AllowedNamespaces []string `json:"allowedNamespaces,omitempty"`
	// Submission is the SMTP submission server mail clients send through. The Outlook profile the operator
	// keeps for each Mailbox (status.clientConfig) makes it the outgoing server of the profile's Internet
	// Mail account. Without it: spec.host, port 587, STARTTLS. mailshift itself never connects to it.
	// +optional
	Submission *SubmissionServer `json:"submission,omitempty"`
}

// SubmissionServer is an SMTP message submission server (RFC 6409; implicit TLS as in RFC 8314).
type SubmissionServer struct {
	// Host name or IP address of the submission server. Defaults to the MailServer's spec.host.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Host string `json:"host,omitempty"`
	// Port of the submission server. Defaults to 465 with tls Implicit, 587 otherwise.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
	// TLS mode: STARTTLS (the default, on port 587), Implicit (the default on port 465), or None (needs the
	// MailServer's insecureAllowPlaintext).
	// +optional
	TLS TLSMode `json:"tls,omitempty"`
}

// AdminCredentials refers to the Secret of an administrator who may act for users.
// +kubebuilder:validation:XValidation:rule="!has(self.password)",message="inline passwords are not accepted: store the password in a Secret and name it in secretRef"
type AdminCredentials struct {
	// SecretRef names the Secret with the admin login and password.
	SecretRef CredentialsSecretRef `json:"secretRef"`
	// VerifyLogin is a user the MailServer check impersonates to prove the admin credentials. Needed where the
	// admin cannot log in as itself (a Dovecot master user); without it such a server's admin credentials are
	// proven only when a Mailbox uses them.
	// +optional
	// +kubebuilder:validation:MaxLength=320
	VerifyLogin string `json:"verifyLogin,omitempty"`
	// AllowedNamespaces grants admin impersonation to Mailboxes of other namespaces, per namespace and only
	// for the logins listed. Mailboxes in the MailServer's own namespace may always be impersonated; a
	// Mailbox of any other namespace without a grant that matches its login must bring its own credentials
	// (spec.credentialsSecretRef). spec.allowedNamespaces only lets a namespace use the server, it grants no
	// impersonation.
	// +optional
	// +listType=map
	// +listMapKey=namespace
	// +kubebuilder:validation:MaxItems=256
	AllowedNamespaces []ImpersonationGrant `json:"allowedNamespaces,omitempty"`
	// Password must never be set: it exists only so that an inline password is rejected with a clear message.
	// +optional
	Password *string `json:"password,omitempty"`
}

// ImpersonationGrant lets the Mailboxes of one namespace act through the admin credentials, for some logins.
type ImpersonationGrant struct {
	// Namespace whose Mailboxes the grant is for: one exact name (no wildcards).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace"`
	// Logins the namespace's Mailboxes may impersonate: patterns compared case-sensitively with spec.login;
	// "*" stands for any run of characters, everything else is literal ("alice", "*@team-a.example.com").
	// A pattern that matches every login must be written as "*" alone; "**" and the like are rejected.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=320
	// +kubebuilder:validation:items:Pattern=`^(\*|\*?[^\s*]+(\*[^\s*]+)*\*?)$`
	Logins []string `json:"logins"`
}

// ServerLimits bounds the load mailshift puts on one server.
type ServerLimits struct {
	// MaxConnections is the most IMAP connections mailshift opens to this server at once.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxConnections int32 `json:"maxConnections,omitempty"`
	// MaxConcurrentMigrations is the most migrations that write to this server at once.
	// +optional
	// +kubebuilder:default=4
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxConcurrentMigrations int32 `json:"maxConcurrentMigrations,omitempty"`
}

// MailServerStatus is what mailshift last saw of the server.
type MailServerStatus struct {
	// ObservedGeneration is the generation of the spec this status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, Reconciling, Stalled.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Endpoint is host:port as dialled.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// Capabilities the server advertised (after login when admin credentials are set).
	// +optional
	Capabilities []string `json:"capabilities,omitempty"`
	// ServerID is what the server answered to the ID command.
	// +optional
	ServerID map[string]string `json:"serverID,omitempty"`
	// AdminAuthenticated is true when the admin credentials were accepted at the last check.
	// +optional
	AdminAuthenticated *bool `json:"adminAuthenticated,omitempty"`
	// LastCheckTime is when the server was last checked.
	// +optional
	LastCheckTime *metav1.Time `json:"lastCheckTime,omitempty"`
	// ConsecutiveFailures counts failed checks since the last success.
	// +optional
	ConsecutiveFailures int32 `json:"consecutiveFailures,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=msrv,categories=mailshift
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.status.endpoint`
// +kubebuilder:printcolumn:name="Flavor",type=string,JSONPath=`.spec.flavor`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// MailServer is an IMAP server that mailshift manages mailboxes on.
type MailServer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MailServerSpec   `json:"spec"`
	Status MailServerStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// MailServerList is a list of MailServers.
type MailServerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MailServer `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MailServer{}, &MailServerList{})
}

// VerifyLoginOrEmpty returns the admin's verifyLogin, "" when there is no admin.
func (a *AdminCredentials) VerifyLoginOrEmpty() string {
	if a == nil {
		return ""
	}
	return a.VerifyLogin
}
