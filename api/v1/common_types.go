package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types shared by every mailshift kind (the status contract that kstatus, Flux and Argo CD read).
const (
	// ConditionReady is True when the object is done or healthy.
	ConditionReady = "Ready"
	// ConditionReconciling is True only while work is in flight.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True only when a person must act: a bad spec, a missing Secret, retries exhausted.
	ConditionStalled = "Stalled"
)

// Condition reasons. They are stable CamelCase words, and the same strings are used as Event reasons.
const (
	ReasonReady                = "Ready"
	ReasonProgressing          = "Progressing"
	ReasonConnected            = "Connected"
	ReasonUnreachable          = "Unreachable"
	ReasonTLSFailed            = "TLSFailed"
	ReasonAuthenticationFailed = "AuthenticationFailed"
	ReasonTimeout              = "Timeout"
	ReasonProtocolError        = "ProtocolError"
	ReasonPermissionDenied     = "PermissionDenied"
	ReasonSecretNotFound       = "SecretNotFound"
	ReasonSecretInvalid        = "SecretInvalid"
	ReasonServerNotFound       = "ServerNotFound"
	ReasonServerNotReady       = "ServerNotReady"
	ReasonNamespaceNotAllowed  = "NamespaceNotAllowed"
	ReasonMailboxNotFound      = "MailboxNotFound"
	ReasonMailboxNotReady      = "MailboxNotReady"
	ReasonFolderNotFound       = "FolderNotFound"
	ReasonSpecialFoldersFailed = "SpecialFoldersFailed"
	ReasonOwnerLockout         = "OwnerLockout"
	ReasonACLApplied           = "ACLApplied"
	ReasonDriftCorrected       = "DriftCorrected"
	ReasonACLFailed            = "ACLFailed"
	ReasonNotSupported         = "NotSupported"
	ReasonInvalidSpec          = "InvalidSpec"
)

// ReasonImpersonationNotAllowed: a Mailbox without its own credentials would act through the MailServer's
// admin credentials, and the MailServer grants the Mailbox's namespace no impersonation of that login.
const ReasonImpersonationNotAllowed = "ImpersonationNotAllowed"

// ReasonHostNotAllowed: the MailServer's host is not in the manager's --allowed-server-hosts; no
// connection was made.
const ReasonHostNotAllowed = "HostNotAllowed"

// SecretKeyRef selects one key of a Secret in the same namespace as the object that refers to it.
type SecretKeyRef struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Key inside the Secret. Each field that uses this type documents its default.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
}

// CredentialsSecretRef names a Secret holding a login and a password, under configurable keys.
type CredentialsSecretRef struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// UsernameKey is the key holding the login.
	// +optional
	// +kubebuilder:default=username
	UsernameKey string `json:"usernameKey,omitempty"`
	// PasswordKey is the key holding the password.
	// +optional
	// +kubebuilder:default=password
	PasswordKey string `json:"passwordKey,omitempty"`
}

// LocalObjectRef names an object of a known kind in the same namespace.
type LocalObjectRef struct {
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// TLSMode says how a connection is protected.
// +kubebuilder:validation:Enum=Implicit;STARTTLS;None
type TLSMode string

const (
	// TLSImplicit starts TLS at once (IMAPS, usually port 993).
	TLSImplicit TLSMode = "Implicit"
	// TLSStartTLS upgrades a plain connection with STARTTLS before any credentials are sent.
	TLSStartTLS TLSMode = "STARTTLS"
	// TLSNone sends everything, passwords included, in clear text. It must be opted into explicitly.
	TLSNone TLSMode = "None"
)

// Right is one of the nine folder rights of the connector's sharing dialog. The controller translates them
// into the IMAP ACL letters the server advertises (RFC 4314, or RFC 2086 on older servers).
// +kubebuilder:validation:Enum=lookup;read;insert;write;setSeen;post;create;delete;administer
type Right string

// The nine rights.
const (
	RightLookup     Right = "lookup"
	RightRead       Right = "read"
	RightInsert     Right = "insert"
	RightWrite      Right = "write"
	RightSetSeen    Right = "setSeen"
	RightPost       Right = "post"
	RightCreate     Right = "create"
	RightDelete     Right = "delete"
	RightAdminister Right = "administer"
)

// Progress counts the work of a migration or a sync pass.
type Progress struct {
	FoldersTotal int32 `json:"foldersTotal,omitempty"`
	FoldersDone  int32 `json:"foldersDone,omitempty"`
	ItemsTotal   int64 `json:"itemsTotal,omitempty"`
	ItemsCopied  int64 `json:"itemsCopied,omitempty"`
	// ItemsSkipped counts items already present on the target (duplicates) or skipped by policy.
	ItemsSkipped int64 `json:"itemsSkipped,omitempty"`
	ItemsFailed  int64 `json:"itemsFailed,omitempty"`
	BytesTotal   int64 `json:"bytesTotal,omitempty"`
	BytesCopied  int64 `json:"bytesCopied,omitempty"`
	// ItemsPerSecond is the recent copy rate, as a decimal string.
	// +optional
	ItemsPerSecond string `json:"itemsPerSecond,omitempty"`
	// ETA is the estimated completion time.
	// +optional
	ETA *metav1.Time `json:"eta,omitempty"`
	// UpdateTime is when the worker last reported.
	// +optional
	UpdateTime *metav1.Time `json:"updateTime,omitempty"`
}
