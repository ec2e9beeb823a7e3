// Package rtf turns the RTF bodies Outlook stores in PST items into text.
//
// Outlook keeps a message body in up to three properties: PR_BODY (plain text), PR_HTML and
// PR_RTF_COMPRESSED (0x1009). Many items carry only the last one, so a migration that wants a readable
// body has to go through three steps, one per function here:
//
//   - Decompress undoes the compression of [MS-OXRTFCP] and returns the RTF document.
//   - Deencapsulate recovers the original HTML or plain text an RTF document carries when Outlook
//     converted an HTML or text mail to RTF ([MS-OXRTFEX]): the document says so with \fromhtml1 or
//     \fromtext in its header.
//   - ToText renders any other ("native") RTF document as plain text, for items whose only body is RTF
//     written by Outlook's editor.
//
// All three read untrusted bytes: they never panic, allocate in proportion to their input, and bound
// group nesting (MaxDepth).
package rtf
