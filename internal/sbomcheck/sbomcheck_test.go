package sbomcheck

import (
	"testing"
)

// The validator rejects what the schemas forbid (so a passing SBOM
// test means something).
func TestValidate(t *testing.T) {
	for _, c := range []struct {
		format, doc string
		ok          bool
	}{
		{"spdx", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","dataLicense":"CC0-1.0","documentNamespace":"https://x","creationInfo":{"created":"2023-11-14T22:13:20Z","creators":["Tool: t"]}}`, true},
		{"spdx", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","dataLicense":"CC0-1.0","documentNamespace":"https://x","creationInfo":{"created":"2023-11-14T22:13:20Z","creators":[]}}`, false},
		{"spdx", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","dataLicense":"CC0-1.0","documentNamespace":"https://x","creationInfo":{"created":"2023-11-14T22:13:20Z","creators":["Tool: t"]},"files":[{"SPDXID":"SPDXRef-f","fileName":"./a","checksums":[{"algorithm":"CRC","checksumValue":"00"}]}]}`, false},
		{"spdx", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","dataLicense":"CC0-1.0","documentNamespace":"https://x","creationInfo":{"created":"2023-11-14T22:13:20Z","creators":["Tool: t"]},"packages":[{"SPDXID":"SPDXRef-a","name":"a"}]}`, false},
		{"spdx", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","dataLicense":"CC0-1.0","documentNamespace":"https://x","creationInfo":{"created":"2023-11-14T22:13:20Z","creators":["Tool: t"]},"colour":"red"}`, false},
		{"spdx", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","dataLicense":"CC0-1.0","documentNamespace":"https://x","creationInfo":{"created":"yesterday","creators":["Tool: t"]}}`, false},
		{"spdx", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","dataLicense":"CC0-1.0","documentNamespace":"https://x","creationInfo":{"created":"2023-11-14T22:13:20Z","creators":["Tool: t"]},"packages":[{"SPDXID":"SPDXRef-a b","name":"a","downloadLocation":"NOASSERTION"}]}`, false},
		{"cyclonedx", `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1}`, true},
		{"cyclonedx", `{"bomFormat":"SPDX","specVersion":"1.5","version":1}`, false},
		{"cyclonedx", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"nothing","name":"a"}]}`, false},
	} {
		err := Validate(c.format, []byte(c.doc))
		if (err == nil) != c.ok {
			t.Errorf("%s %s: %v, want ok=%v", c.format, c.doc, err, c.ok)
		}
	}
}
