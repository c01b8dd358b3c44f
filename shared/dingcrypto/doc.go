// Package dingcrypto implements the cryptography DingTalk (钉钉) uses around
// an app's HTTP endpoints:
//
//   - the event-callback message crypto (事件回调加解密): AES-256-CBC with
//     the 43-character EncodingAESKey, the plaintext layout
//     random16 ‖ uint32be(len) ‖ message ‖ owner key, 32-byte PKCS#7-style
//     padding, and the SHA-1 msg_signature over the sorted token, timestamp,
//     nonce and ciphertext (Crypto, Sign);
//   - the dd.config JSAPI signature (JSAPISignature);
//   - the custom group robot webhook signature (RobotSign) and the check of
//     the headers DingTalk sends to an enterprise robot's endpoint
//     (VerifyRobotCallback).
//
// Decryption checks everything the vendor samples skip: the signature in
// constant time and before any decryption, the base64, the ciphertext
// length, every pad byte, the embedded length and the receiver id. Each
// failure is an *Error with a Kind; no input panics.
//
// The package is named dingcrypto so it does not shadow the standard crypto.
//
// Reference: https://open.dingtalk.com/document/development/callback-event-message-body-encryption-and-decryption
package dingcrypto
