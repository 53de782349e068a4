// Package bench compares the SDK's per-request cost with peer Go libraries.
// Every benchmark verifies the same RS256 tokens, signed by the same key,
// checking signature, issuer, audience and expiry. Run:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./bench | tee new.txt
//	benchstat new.txt
package bench
