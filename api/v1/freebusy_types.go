package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FTPTLSMode says how the FTP connection is protected.
// +kubebuilder:validation:Enum=Explicit;None
type FTPTLSMode string

const (
	// FTPExplicitTLS upgrades with AUTH TLS before logging in.
	FTPExplicitTLS FTPTLSMode = "Explicit"
	// FTPNoTLS sends the password in clear text; needs insecureAllowPlaintext.
	FTPNoTLS FTPTLSMode = "None"
)

// FTPTarget is where .vfb files are uploaded.
// +kubebuilder:validation:XValidation:rule="self.tls != 'None' || (has(self.insecureAllowPlaintext) && self.insecureAllowPlaintext)",message="tls None sends the FTP password in clear text: set insecureAllowPlaintext: true to allow it"
// +kubebuilder:validation:XValidation:rule="!has(self.password)",message="inline passwords are not accepted: store the password in a Secret and name it in credentialsSecretRef"
type FTPTarget struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Host string `json:"host"`
	// +optional
	// +kubebuilder:default=21
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
	// +optional
	// +kubebuilder:default=Explicit
	TLS FTPTLSMode `json:"tls,omitempty"`
	// +optional
	InsecureAllowPlaintext bool `json:"insecureAllowPlaintext,omitempty"`
	// +optional
	CABundle *SecretKeyRef `json:"caBundle,omitempty"`
	// CredentialsSecretRef holds the FTP login and password.
	CredentialsSecretRef CredentialsSecretRef `json:"credentialsSecretRef"`
	// Directory the files go to, where Outlook looks for them.
	// +optional
	// +kubebuilder:default="/pub/calendar"
	Directory string `json:"directory,omitempty"`
	// Password must never be set: it exists only so that an inline password is rejected with a clear message.
	// +optional
	Password *string `json:"password,omitempty"`
}

// FreeBusyPublication condition reasons.
const (
	// ReasonPublished: the file was uploaded (Ready).
	ReasonPublished = "Published"
	// ReasonFTPAuthFailed: the FTP server refused the login.
	ReasonFTPAuthFailed = "FTPAuthFailed"
	// ReasonCalendarUnreadable: the calendar folders could not be found, opened or read over IMAP.
	ReasonCalendarUnreadable = "CalendarUnreadable"
	// ReasonNameConflict: another FreeBusyPublication serves the same file name over HTTP.
	ReasonNameConflict = "NameConflict"
	// ReasonCalendarObjectsUnreadable is the Warning Event for calendar messages that were left out.
	ReasonCalendarObjectsUnreadable = "CalendarObjectsUnreadable"
	// ReasonUnpublished is the Event of a deletion that removed the published file.
	ReasonUnpublished = "Unpublished"
	// ReasonFileTooLarge: the file is larger than the manager's HTTP copy can hold (a ConfigMap's 1 MiB).
	ReasonFileTooLarge = "FileTooLarge"
	// ReasonServeFailed: the HTTP copy of the file could not be written to its ConfigMap.
	ReasonServeFailed = "ServeFailed"
)

// FreeBusyWindow is the span of time published.
type FreeBusyWindow struct {
	// +optional
	// +kubebuilder:default=7
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=366
	DaysBack int32 `json:"daysBack,omitempty"`
	// +optional
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=732
	DaysAhead int32 `json:"daysAhead,omitempty"`
}

// FreeBusyPublicationSpec publishes one mailbox's free/busy.
type FreeBusyPublicationSpec struct {
	// MailboxRef names the Mailbox whose calendars are read.
	MailboxRef LocalObjectRef `json:"mailboxRef"`
	// Folders to read; empty means the mailbox's calendar folders.
	// +optional
	Folders []string `json:"folders,omitempty"`
	// +optional
	Window FreeBusyWindow `json:"window,omitempty"`
	// Interval between publications; a calendar change also republishes.
	// +optional
	// +kubebuilder:default="15m"
	Interval *metav1.Duration `json:"interval,omitempty"`
	// FTP target.
	FTP FTPTarget `json:"ftp"`
	// Name of the file without ".vfb"; defaults to the local part of the mailbox address (Outlook's %NAME%).
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._+-]+$`
	Name string `json:"name,omitempty"`
	// ServeHTTP also serves the file from the manager at /freebusy/<namespace>/<name>.vfb (anonymously: see
	// the README for what readers learn).
	// +optional
	ServeHTTP bool `json:"serveHTTP,omitempty"`
	// ChangeCheckInterval is how often the calendar folders are checked for changes (one STATUS per folder);
	// a change republishes at once instead of waiting for the interval.
	// +optional
	// +kubebuilder:default="1m"
	ChangeCheckInterval *metav1.Duration `json:"changeCheckInterval,omitempty"`
	// TimeZone (IANA name) places all-day events and floating times on the time line, as the owner's
	// Outlook would; default UTC.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	TimeZone string `json:"timeZone,omitempty"`
}

// FreeBusyPublicationStatus reports the last publication.
type FreeBusyPublicationStatus struct {
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// PublishURL is where the file is, never with a password.
	// +optional
	PublishURL string `json:"publishURL,omitempty"`
	// SearchURL is what to paste into Outlook's free/busy search path.
	// +optional
	SearchURL string `json:"searchURL,omitempty"`
	// +optional
	LastPublishTime *metav1.Time `json:"lastPublishTime,omitempty"`
	// +optional
	BusyPeriods int32 `json:"busyPeriods,omitempty"`
	// Events is how many calendar objects were read.
	// +optional
	Events int32 `json:"events,omitempty"`
	// UnreadableObjects counts calendar messages that could not be read (each named in an Event), so a
	// malformed meeting never silently shows its owner as free.
	// +optional
	UnreadableObjects int32 `json:"unreadableObjects,omitempty"`
	// Folders are the calendar folders read.
	// +optional
	Folders []string `json:"folders,omitempty"`
	// WindowStart and WindowEnd are the published span.
	// +optional
	WindowStart *metav1.Time `json:"windowStart,omitempty"`
	// +optional
	WindowEnd *metav1.Time `json:"windowEnd,omitempty"`
	// HTTPPath is the manager's HTTP path of the file when serveHTTP is set.
	// +optional
	HTTPPath string `json:"httpPath,omitempty"`
	// PublishedName is the file name last uploaded; a renamed publication removes the old file.
	// +optional
	PublishedName string `json:"publishedName,omitempty"`
	// PublishedDirectory is the FTP directory of PublishedName.
	// +optional
	PublishedDirectory string `json:"publishedDirectory,omitempty"`
	// CalendarState is the folders' change token (UIDVALIDITY, UIDNEXT, MESSAGES, HIGHESTMODSEQ) at the
	// last publication; a different token means the calendar changed.
	// +optional
	CalendarState string `json:"calendarState,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fbpub,categories=mailshift
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.publishURL`
// +kubebuilder:printcolumn:name="Busy",type=integer,JSONPath=`.status.busyPeriods`
// +kubebuilder:printcolumn:name="Published",type=date,JSONPath=`.status.lastPublishTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// FreeBusyPublication computes a mailbox's free/busy from its calendars and publishes it where Outlook looks.
type FreeBusyPublication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   FreeBusyPublicationSpec   `json:"spec"`
	Status FreeBusyPublicationStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// FreeBusyPublicationList is a list of FreeBusyPublications.
type FreeBusyPublicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FreeBusyPublication `json:"items"`
}

func init() {
	SchemeBuilder.Register(&FreeBusyPublication{}, &FreeBusyPublicationList{})
}
