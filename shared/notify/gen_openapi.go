//go:build ignore

// gen_openapi writes openapi.json.gz, the compressed copy of openapi.json
// the notify function embeds: go generate ./shared/notify after editing
// openapi.json (TestOpenAPICompressedCopy fails until then). The output
// depends only on the input (no name, no time in the header).
package main

import (
	"bytes"
	"compress/gzip"
	"log"
	"os"
)

func main() {
	doc, err := os.ReadFile("openapi.json")
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := zw.Write(doc); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("openapi.json.gz", buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
