package dingcrypto_test

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/dingfn/dingfn/shared/dingcrypto"
)

// Decrypting DingTalk's published test push (from its callback docs).
func ExampleCrypto_Decrypt() {
	c, err := dingcrypto.New("123456", "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij", "suite4xxxxxxxxxxxxxxx")
	if err != nil {
		panic(err)
	}
	msg, err := c.Decrypt(
		"5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0", // msg_signature (or signature) query parameter
		"1445827045067", // timestamp (or timeStamp)
		"nEXhMP4r",      // nonce
		"1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG+OzrHMeiZI7gTRWVdUBmfxjZ8Ej23JVYa9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr0rgUathB6zRHP8PYrfgnNOS9PhSBdHlegK+AGGanfwjXuQ9+0pZcy0w9lQ==",
	)
	fmt.Println(string(msg), err)

	// The same push checked against the wrong owner key.
	other, _ := dingcrypto.New("123456", "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij", "dingAnotherApp")
	_, err = other.Decrypt("5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0", "1445827045067", "nEXhMP4r",
		"1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG+OzrHMeiZI7gTRWVdUBmfxjZ8Ej23JVYa9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr0rgUathB6zRHP8PYrfgnNOS9PhSBdHlegK+AGGanfwjXuQ9+0pZcy0w9lQ==")
	var e *dingcrypto.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind, e.DingTalkCode())
	}
	// Output:
	// {"EventType":"check_create_suite_url","Random":"LPIdSnlF","TestSuiteKey":"suite4xxxxxxxxxxxxxxx"} <nil>
	// receiver_mismatch 900010
}

// Answering a callback: the envelope is the JSON body DingTalk expects.
func ExampleCrypto_Encrypt() {
	c, err := dingcrypto.New("123456", "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij", "dingAppKey")
	if err != nil {
		panic(err)
	}
	env, err := c.Encrypt([]byte("success"))
	if err != nil {
		panic(err)
	}
	msg, err := c.Decrypt(env.MsgSignature, env.TimeStamp, env.Nonce, env.Encrypt)
	fmt.Println(string(msg), err)
	// Output: success <nil>
}

// Signing a custom group robot webhook call.
func ExampleRobotSign() {
	const ts = 1582163555000 // time.Now().UnixMilli() in real use
	q := url.Values{
		"access_token": {"ROBOT_TOKEN"},
		"timestamp":    {fmt.Sprint(ts)},
		"sign":         {dingcrypto.RobotSign("SECb90923e19e58b466481e9e7b7a5b4f108a4531abde590ad3967fb29f0eae5c68", ts)},
	}
	fmt.Println(q.Encode())
	// Output: access_token=ROBOT_TOKEN&sign=BQKsG%2BQOCl%2BbYJOLc6pxDHxjVquzlZPWgvRzeN2J5zY%3D&timestamp=1582163555000
}

// Signing dd.config for a hash-routed page: the fragment is not signed.
func ExampleJSAPISignature() {
	sig := dingcrypto.JSAPISignature("abc", "nonce", 1700000000, "https://example.com/page?a=1#/orders")
	fmt.Println(sig)
	// Output: a3d889a22dbac1236006b87b457c17319d9a250d
}
