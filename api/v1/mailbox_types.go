package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServerRef names a MailServer, in the Mailbox's namespace unless Namespace is set (the MailServer must then
// allow that namespace in spec.allowedNamespaces).
type ServerRef struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// SpecialFolderType is a groupware folder kind.
// +kubebuilder:validation:Enum=Calendar;Contacts;Tasks;Notes;Journal
type SpecialFolderType string

const (
	SpecialCalendar SpecialFolderType = "Calendar"
	SpecialContacts SpecialFolderType = "Contacts"
	SpecialTasks    SpecialFolderType = "Tasks"
	SpecialNotes    SpecialFolderType = "Notes"
	SpecialJournal  SpecialFolderType = "Journal"
)

// AllSpecialFolderTypes lists the groupware folders in the order they are created.
var AllSpecialFolderTypes = []SpecialFolderType{SpecialCalendar, SpecialContacts, SpecialTasks, SpecialNotes, SpecialJournal}

// FolderPlacement says where groupware folders are created.
// +kubebuilder:validation:Enum=Auto;TopLevel;UnderInbox
type FolderPlacement string

const (
	// PlacementAuto follows the server's NAMESPACE: under INBOX when the personal prefix is "INBOX.", as on
	// legacy Cyrus, at top level otherwise.
	PlacementAuto       FolderPlacement = "Auto"
	PlacementTopLevel   FolderPlacement = "TopLevel"
	PlacementUnderInbox FolderPlacement = "UnderInbox"
)

// AnnotationFormat says how a groupware folder's type is marked on the server.
// +kubebuilder:validation:Enum=Kolab3;None
type AnnotationFormat string

const (
	// AnnotationKolab3 sets METADATA /shared/vendor/kolab/folder-type and the private ".default" marker.
	AnnotationKolab3 AnnotationFormat = "Kolab3"
	// AnnotationNone creates folders without type annotations.
	AnnotationNone AnnotationFormat = "None"
)

// SpecialFolder names one groupware folder.
type SpecialFolder struct {
	// Type of the folder.
	Type SpecialFolderType `json:"type"`
	// Name as users see it, without any namespace prefix; localizable (e.g. "Kalender"). Defaults to the type.
	// +optional
	// +kubebuilder:validation:MaxLength=200
	Name string `json:"name,omitempty"`
}

// SpecialFolders configures the groupware folders of a mailbox.
// +kubebuilder:validation:XValidation:rule="!has(self.folders) || self.folders.all(f, self.folders.exists_one(g, g.type == f.type))",message="each special folder type may appear only once"
type SpecialFolders struct {
	// Disabled turns special-folder management off for this mailbox.
	// +optional
	Disabled bool `json:"disabled,omitempty"`
	// Folders to ensure. Empty means all five with their English names.
	// +optional
	// +kubebuilder:validation:MaxItems=5
	Folders []SpecialFolder `json:"folders,omitempty"`
	// Placement of the folders.
	// +optional
	// +kubebuilder:default=Auto
	Placement FolderPlacement `json:"placement,omitempty"`
	// Annotations: how the folder type is recorded on the server.
	// +optional
	// +kubebuilder:default=Kolab3
	Annotations AnnotationFormat `json:"annotations,omitempty"`
	// MailSpecialUse also ensures Sent, Drafts, Trash, Junk and Archive where the server supports
	// CREATE-SPECIAL-USE.
	// +optional
	// +kubebuilder:default=true
	MailSpecialUse *bool `json:"mailSpecialUse,omitempty"`
}

// MailboxSpec declares one user's mailbox on a MailServer.
// +kubebuilder:validation:XValidation:rule="!has(self.password)",message="inline passwords are not accepted: store the password in a Secret and name it in credentialsSecretRef"
// +kubebuilder:validation:XValidation:rule="!(has(self.oauth2) && has(self.credentialsSecretRef))",message="set credentialsSecretRef (a password) or oauth2 (a token), not both"
type MailboxSpec struct {
	// ServerRef names the MailServer.
	ServerRef ServerRef `json:"serverRef"`
	// Login is the IMAP login ID, which is not necessarily the address.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=320
	// +kubebuilder:validation:Pattern=`^\S+$`
	Login string `json:"login"`
	// Address is the user's e-mail address.
	// +optional
	// +kubebuilder:validation:MaxLength=320
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+$`
	Address string `json:"address,omitempty"`
	// DisplayName is the person's name on the mail they send from Outlook ("Your Name"), as the Outlook
	// profile the operator keeps for the Mailbox writes it. Optional: without it Outlook shows the address.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`
	// CredentialsSecretRef names the Secret key holding the user's password (key defaults to "password").
	// Optional when the MailServer has admin credentials: mailshift then acts on the user's behalf.
	// +optional
	CredentialsSecretRef *SecretKeyRef `json:"credentialsSecretRef,omitempty"`
	// Password must never be set: it exists only so that an inline password is rejected with a clear message.
	// +optional
	Password *string `json:"password,omitempty"`
	// OAuth2 logs in with an OAuth 2.0 bearer token (SASL XOAUTH2 or OAUTHBEARER) instead of a password:
	// Exchange Online, or any server whose accounts an identity provider holds.
	// +optional
	OAuth2 *MailboxOAuth2 `json:"oauth2,omitempty"`
	// SpecialFolders configures the groupware folders.
	// +optional
	SpecialFolders SpecialFolders `json:"specialFolders,omitempty"`
	// CheckInterval is how often the mailbox is checked again.
	// +optional
	// +kubebuilder:default="10m"
	CheckInterval *metav1.Duration `json:"checkInterval,omitempty"`
}

// NamespaceStatus is one IMAP namespace (RFC 2342).
type NamespaceStatus struct {
	Prefix string `json:"prefix"`
	// Delimiter is the hierarchy separator, empty for a flat namespace.
	Delimiter string `json:"delimiter,omitempty"`
}

// MailboxNamespaces is the NAMESPACE answer.
type MailboxNamespaces struct {
	Personal []NamespaceStatus `json:"personal,omitempty"`
	Other    []NamespaceStatus `json:"other,omitempty"`
	Shared   []NamespaceStatus `json:"shared,omitempty"`
}

// QuotaStatus is one quota resource (RFC 9208).
type QuotaStatus struct {
	Root     string `json:"root,omitempty"`
	Resource string `json:"resource"`
	Usage    int64  `json:"usage"`
	Limit    int64  `json:"limit"`
}

// SpecialFolderStatus is a groupware folder as found or created on the server.
type SpecialFolderStatus struct {
	Type SpecialFolderType `json:"type"`
	// Mailbox is the full name on the server (e.g. "INBOX.Calendar" on legacy Cyrus).
	Mailbox string `json:"mailbox"`
	// Annotated is true when the folder carries its type annotation.
	// +optional
	Annotated bool `json:"annotated,omitempty"`
}

// MailboxStatus is what mailshift last saw of the mailbox.
type MailboxStatus struct {
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LastCheckTime is when the mailbox was last checked (the old connector's "Ping Server").
	// +optional
	LastCheckTime *metav1.Time `json:"lastCheckTime,omitempty"`
	// AuthenticatedAs says how mailshift logged in: "user" with the mailbox's own password, "admin" by
	// impersonation.
	// +optional
	AuthenticatedAs string `json:"authenticatedAs,omitempty"`
	// +optional
	Capabilities []string `json:"capabilities,omitempty"`
	// ServerID is what the server answered to the ID command (RFC 2971).
	// +optional
	ServerID map[string]string `json:"serverID,omitempty"`
	// +optional
	Namespaces *MailboxNamespaces `json:"namespaces,omitempty"`
	// Folders counts the mailbox's folders.
	// +optional
	Folders int32 `json:"folders"`
	// Messages counts messages across all folders.
	// +optional
	Messages int64 `json:"messages"`
	// +optional
	Quota []QuotaStatus `json:"quota,omitempty"`
	// +optional
	SpecialFolders []SpecialFolderStatus `json:"specialFolders,omitempty"`
	// ConsecutiveFailures counts failed checks since the last success.
	// +optional
	ConsecutiveFailures int32 `json:"consecutiveFailures,omitempty"`
	// LastPingRequest is the value of the mailshift.io/ping-request annotation that the last check answered:
	// once it shows a request's token, the conditions and the rest of the status are from a check made after
	// that request (see `mailshift ping MAILBOX`).
	// +optional
	// +kubebuilder:validation:MaxLength=64
	LastPingRequest string `json:"lastPingRequest,omitempty"`
	// ClientConfig names the Outlook profile files the operator keeps for the Mailbox's desks (`mailshift
	// client-config` writes them out); the condition ClientConfigReady says whether they follow the current
	// Mailbox, MailServer and FreeBusyPublication.
	// +optional
	ClientConfig *ClientConfigStatus `json:"clientConfig,omitempty"`
}

// ClientConfigStatus names the ConfigMap with the files Outlook needs for a Mailbox.
type ClientConfigStatus struct {
	// ConfigMapName is the ConfigMap, in the Mailbox's namespace and owned by it, holding outlook.prf (an
	// Outlook profile file with the mailshift connector's settings and an Internet Mail account for sending)
	// and, when a FreeBusyPublication of the Mailbox has a searchURL, freebusy.reg (Outlook's free/busy search
	// path). It holds no password and no other secret.
	ConfigMapName string `json:"configMapName"`
	// Hash identifies the files' content ("sha256:" and a hex digest); the ConfigMap carries the same in its
	// mailshift.io/client-config-hash annotation. When it changes, the desks need the new files.
	Hash string `json:"hash"`
	// Files are the ConfigMap's keys.
	// +optional
	Files []string `json:"files,omitempty"`
	// FreeBusyPublication names the publication whose searchURL the files carry.
	// +optional
	FreeBusyPublication string `json:"freeBusyPublication,omitempty"`
	// UpdateTime is when the files' content last changed.
	// +optional
	UpdateTime *metav1.Time `json:"updateTime,omitempty"`
}

// ConditionClientConfigReady is True when status.clientConfig names files written for the Mailbox's
// current spec, its MailServer and its FreeBusyPublication; False says why they could not be (the files
// named are then those of the last inputs that could be written).
const ConditionClientConfigReady = "ClientConfigReady"

// ClientConfigReady reasons (also the reasons of their Events).
const (
	// ReasonClientConfigRendered: the files are current.
	ReasonClientConfigRendered = "ClientConfigRendered"
	// ReasonClientConfigInvalid: a value the Outlook connector would refuse (a host with characters no host
	// name has, a login it cannot send, no address for the sending account); the message names it.
	ReasonClientConfigInvalid = "ClientConfigInvalid"
	// ReasonClientConfigConflict: a ConfigMap of the files' name exists and belongs to something else.
	ReasonClientConfigConflict = "ClientConfigConflict"
)

// ClientConfigHashAnnotation carries status.clientConfig.hash on the ConfigMap, so that a reader can tell
// whether the ConfigMap it read is the one the status speaks of.
const ClientConfigHashAnnotation = "mailshift.io/client-config-hash"

// OAuth2Grant is how mailshift gets a Mailbox's access tokens.
// +kubebuilder:validation:Enum=ClientCredentials;RefreshToken
type OAuth2Grant string

const (
	GrantClientCredentials OAuth2Grant = "ClientCredentials"
	GrantRefreshToken      OAuth2Grant = "RefreshToken"
)

// MailboxOAuth2 says how a Mailbox gets its OAuth 2.0 access tokens: from a Secret someone else keeps fresh
// (tokenSecretRef), or from the authorization server's token endpoint (tokenURL), with the client-credentials
// grant or the refresh-token grant, a new one before the one held expires.
// +kubebuilder:validation:XValidation:rule="has(self.tokenSecretRef) != has(self.tokenURL)",message="set tokenSecretRef (a token kept fresh by someone else) or tokenURL (mailshift gets its own), not both"
// +kubebuilder:validation:XValidation:rule="!has(self.tokenURL) || has(self.clientSecretRef)",message="tokenURL needs clientSecretRef"
// +kubebuilder:validation:XValidation:rule="!has(self.grant) || self.grant != 'RefreshToken' || has(self.refreshTokenSecretRef)",message="grant RefreshToken needs refreshTokenSecretRef"
type MailboxOAuth2 struct {
	// Mechanism is the SASL mechanism: XOAUTH2 (Exchange Online, Gmail) or OAUTHBEARER (RFC 7628).
	// +optional
	// +kubebuilder:default=XOAUTH2
	// +kubebuilder:validation:Enum=XOAUTH2;OAUTHBEARER
	Mechanism IMAPAuthMechanism `json:"mechanism,omitempty"`
	// TokenSecretRef names a Secret key holding an access token (key defaults to "token"), for tokens
	// another system keeps fresh.
	// +optional
	TokenSecretRef *SecretKeyRef `json:"tokenSecretRef,omitempty"`
	// TokenURL is the authorization server's token endpoint, e.g.
	// https://login.microsoftonline.com/TENANT/oauth2/v2.0/token. Plain http only to a loopback address.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	TokenURL string `json:"tokenURL,omitempty"`
	// Grant is ClientCredentials (the application's own permission to the mailbox) or RefreshToken (a
	// user's consent, given once).
	// +optional
	// +kubebuilder:default=ClientCredentials
	Grant OAuth2Grant `json:"grant,omitempty"`
	// ClientSecretRef names the Secret holding the client's "client_id" and "client_secret".
	// +optional
	ClientSecretRef *LocalObjectRef `json:"clientSecretRef,omitempty"`
	// RefreshTokenSecretRef names the Secret key holding the refresh token (key defaults to
	// "refresh_token"). A refresh token the server replaces (Ory Hydra does at each use, and refuses the one
	// before from then on) is written back into this key, so that a manager started again logs in with it.
	// The manager is its only user: a Mailbox on this grant cannot be a migration's target.
	// +optional
	RefreshTokenSecretRef *SecretKeyRef `json:"refreshTokenSecretRef,omitempty"`
	// Scopes to ask for, e.g. https://outlook.office365.com/.default.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=512
	Scopes []string `json:"scopes,omitempty"`
}

// PingRequestAnnotation asks the operator to check a Mailbox now: setting it to a new token (at most 64
// letters, digits, '.', '_' or '-') starts a check at once, which then records the token in
// status.lastPingRequest.
const PingRequestAnnotation = "mailshift.io/ping-request"

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=mbx,categories=mailshift
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Login",type=string,JSONPath=`.spec.login`
// +kubebuilder:printcolumn:name="Server",type=string,JSONPath=`.spec.serverRef.name`
// +kubebuilder:printcolumn:name="Folders",type=integer,JSONPath=`.status.folders`
// +kubebuilder:printcolumn:name="Messages",type=integer,JSONPath=`.status.messages`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Mailbox is one user's mailbox on a MailServer.
type Mailbox struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MailboxSpec   `json:"spec"`
	Status MailboxStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// MailboxList is a list of Mailboxes.
type MailboxList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Mailbox `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Mailbox{}, &MailboxList{})
}
