package protocol

// Attachment errors (create_files, get_file_urls, message attachments).
// The first six are SAMA's strings; the rest are samagate's, for checks
// SAMA does not make (it never looks at the files a message names).
var (
	ErrFileLimit       = &Error{Status: 422, Message: "You've exceeded the file limit.", Errors: map[string][]string{"create_files": {"You've exceeded the file limit."}}}
	ErrFileName        = &Error{Status: 422, Message: "Incorrect file name.", Errors: map[string][]string{"name": {"Incorrect file name."}}}
	ErrFileSize        = &Error{Status: 422, Message: "Incorrect file size.", Errors: map[string][]string{"size": {"Incorrect file size."}}}
	ErrFileContentType = &Error{Status: 422, Message: "Incorrect content type.", Errors: map[string][]string{"content_type": {"Incorrect content type."}}}
	ErrFileIDsMissed   = &Error{Status: 422, Message: "File IDS missed.", Errors: map[string][]string{"file_ids": {"File IDS missed."}}}
	ErrFileIDsExceeded = &Error{Status: 422, Message: "File IDs for get download url exceeded.", Errors: map[string][]string{"file_ids": {"File IDs for get download url exceeded."}}}

	ErrAttachments     = &Error{Status: 422, Message: "Incorrect attachments.", Errors: map[string][]string{"attachments": {"Each attachment is an object with the file_id of a file from create_files; at most 10."}}}
	ErrFileNotFound    = &Error{Status: 404, Message: "File not found."}
	ErrFileNotUploaded = &Error{Status: 422, Message: "File not uploaded.", Errors: map[string][]string{"attachments": {"File not uploaded."}}}
	ErrFileMismatch    = &Error{Status: 422, Message: "The uploaded file does not match its declared size or content type.", Errors: map[string][]string{"attachments": {"The uploaded file does not match its declared size or content type."}}}
)
