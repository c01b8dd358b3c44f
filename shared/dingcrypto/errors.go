package dingcrypto

// Kind classifies a crypto failure so callers can branch on it (and map it to
// an HTTP status) without reading error text.
type Kind uint8

// The failure kinds. Their String forms match the error kinds named in the
// published test vectors.
const (
	KindBadKey              Kind = iota + 1 // EncodingAESKey is not 43 base64 characters decoding to 32 bytes
	KindBadConfig                           // token or owner key missing
	KindBadSignature                        // msg_signature / sign does not match
	KindBadBase64                           // encrypt is not standard base64
	KindBadCiphertextLength                 // ciphertext is empty or not a multiple of the AES block
	KindBadPadding                          // pad byte outside 1..32 or pad bytes not uniform
	KindBadLength                           // the 4-byte message length points past the plaintext
	KindReceiverMismatch                    // the trailing receiver id is not the configured owner key
	KindBadTimestamp                        // a timestamp that is not a decimal integer
	KindExpiredTimestamp                    // a timestamp outside the accepted window
)

var kindNames = [...]string{
	KindBadKey:              "bad_aes_key",
	KindBadConfig:           "bad_config",
	KindBadSignature:        "bad_signature",
	KindBadBase64:           "bad_base64",
	KindBadCiphertextLength: "bad_ciphertext_length",
	KindBadPadding:          "bad_padding",
	KindBadLength:           "bad_length",
	KindReceiverMismatch:    "receiver_mismatch",
	KindBadTimestamp:        "bad_timestamp",
	KindExpiredTimestamp:    "expired_timestamp",
}

// String returns the snake_case name of the kind, e.g. "bad_signature".
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// dingTalkCodes maps kinds to the codes DingTalk's own crypto classes use
// (900004 bad key, 900005 signature, 900008 decryption, 900009 length,
// 900010 receiver), so logs can be matched against DingTalk's documentation.
var dingTalkCodes = [...]int{
	KindBadKey:              900004,
	KindBadSignature:        900005,
	KindBadBase64:           900008,
	KindBadCiphertextLength: 900008,
	KindBadPadding:          900008,
	KindBadLength:           900009,
	KindReceiverMismatch:    900010,
}

// Error is the error returned for every crypto failure. Use errors.As to read
// its Kind, or errors.Is against the Err* sentinels.
type Error struct {
	Kind Kind
	// Detail says what exactly was wrong. It never contains key material,
	// the token or the ciphertext.
	Detail string
}

// Error formats the kind and detail, prefixed with the package name.
func (e *Error) Error() string {
	if e.Detail == "" {
		return "dingcrypto: " + e.Kind.String()
	}
	return "dingcrypto: " + e.Kind.String() + ": " + e.Detail
}

// Is reports whether target is an *Error of the same Kind, so that
// errors.Is(err, ErrBadSignature) holds whatever the Detail.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind
}

// DingTalkCode returns the 9000xx code DingTalk's reference implementation
// reports for the same failure, or 0 when it has none.
func (e *Error) DingTalkCode() int {
	if int(e.Kind) < len(dingTalkCodes) {
		return dingTalkCodes[e.Kind]
	}
	return 0
}

// Sentinels for errors.Is. They carry no Detail; returned errors do.
var (
	ErrBadKey              = &Error{Kind: KindBadKey}
	ErrBadConfig           = &Error{Kind: KindBadConfig}
	ErrBadSignature        = &Error{Kind: KindBadSignature}
	ErrBadBase64           = &Error{Kind: KindBadBase64}
	ErrBadCiphertextLength = &Error{Kind: KindBadCiphertextLength}
	ErrBadPadding          = &Error{Kind: KindBadPadding}
	ErrBadLength           = &Error{Kind: KindBadLength}
	ErrReceiverMismatch    = &Error{Kind: KindReceiverMismatch}
	ErrBadTimestamp        = &Error{Kind: KindBadTimestamp}
	ErrExpiredTimestamp    = &Error{Kind: KindExpiredTimestamp}
)

func newError(k Kind, detail string) error { return &Error{Kind: k, Detail: detail} }
