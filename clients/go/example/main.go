// Command example drives a running wa-policy-sidecar from Go: record consent,
// send a template, verify a signed webhook (and refuse a tampered one), revoke
// consent and ask for the verdict again. Every call carries a W3C
// traceparent, so the sidecar's spans and log lines join the caller's trace.
//
//	WA_SIDECAR_GRPC_ADDR=127.0.0.1:50051 WA_SIDECAR_APP_SECRET=... ./example
//
// WA_SIDECAR_TOKEN, when set, is sent as "authorization: Bearer <token>".
// The app secret is only needed here to sign a test webhook the way Meta does;
// a real app forwards Meta's X-Hub-Signature-256 header untouched.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	wa "github.com/wa-policy-sidecar/wa-policy-sidecar/gen/go/wasidecar/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

const to = "+16505551234"

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		log.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// withTrace adds the caller's trace context (and the bearer token, if any) as
// gRPC metadata. With OpenTelemetry, otelgrpc's client handler does this.
func withTrace(ctx context.Context, traceID string) context.Context {
	pairs := []string{"traceparent", "00-" + traceID + "-" + randomHex(8) + "-01"}
	if token := os.Getenv("WA_SIDECAR_TOKEN"); token != "" {
		pairs = append(pairs, "authorization", "Bearer "+token)
	}
	return metadata.AppendToOutgoingContext(ctx, pairs...)
}

// inboundText is a Meta-shaped webhook delivery of one text message.
func inboundText(phoneNumberID, text string) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398",`+
		`"changes":[{"field":"messages","value":{"messaging_product":"whatsapp",`+
		`"metadata":{"display_phone_number":"15550783881","phone_number_id":%q},`+
		`"messages":[{"from":%q,"id":"wamid.go%s","timestamp":"%d","type":"text","text":{"body":%q}}]}}]}]}`,
		phoneNumberID, strings.TrimPrefix(to, "+"), randomHex(8), time.Now().Unix(), text))
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func main() {
	addr := env("WA_SIDECAR_GRPC_ADDR", "127.0.0.1:50051")
	secret := strings.Split(env("WA_SIDECAR_APP_SECRET", "dev-app-secret"), ",")[0]
	phoneNumberID := env("WA_SIDECAR_PHONE_NUMBER_ID", "106540352242922")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, addr, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		log.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	sender, verifier, consent := wa.NewSendServiceClient(conn), wa.NewVerifyServiceClient(conn), wa.NewConsentServiceClient(conn)

	traceID := randomHex(16)
	ctx = withTrace(ctx, traceID)
	fmt.Println("trace:", traceID)

	marketing := []wa.Category{wa.Category_CATEGORY_MARKETING}
	state, err := consent.Grant(ctx, &wa.GrantRequest{
		PhoneNumber: to, Categories: marketing, Source: "web-form",
		NoticeVersion: "2026-11", Jurisdiction: wa.Jurisdiction_JURISDICTION_GDPR, Evidence: "form 8812",
	})
	if err != nil {
		log.Fatalf("grant: %v", err)
	}
	fmt.Println("consent:", state.Categories[0].Status)

	template := &wa.Template{Name: "spring_sale", Language: &wa.TemplateLanguage{Code: "en_US"}}
	sent, err := sender.Send(ctx, &wa.SendRequest{
		IdempotencyKey: "go-example-" + randomHex(6), To: to,
		Category: wa.Category_CATEGORY_MARKETING, Template: template,
	})
	if err != nil {
		log.Fatalf("send: %v", err)
	}
	fmt.Println("send:", sent.Outcome, sent.MessageId)

	// Verify the raw bytes exactly as they arrived; re-encoding breaks the HMAC.
	body := inboundText(phoneNumberID, "hello")
	good, err := verifier.VerifyWebhook(ctx, &wa.WebhookRequest{Body: body, Signature: sign(secret, body), RemoteIp: "127.0.0.1"})
	if err != nil {
		log.Fatalf("verify: %v", err)
	}
	fmt.Println("webhook valid:", good.Valid, "events:", len(good.Events))
	tampered := append(append([]byte{}, body...), ' ')
	bad, err := verifier.VerifyWebhook(ctx, &wa.WebhookRequest{Body: tampered, Signature: sign(secret, body), RemoteIp: "127.0.0.1"})
	if err != nil {
		log.Fatalf("verify: %v", err)
	}
	fmt.Println("tampered valid:", bad.Valid, "reason:", bad.Reason)

	if _, err = consent.Revoke(ctx, &wa.RevokeRequest{PhoneNumber: to, Categories: marketing, Source: "preference-center"}); err != nil {
		log.Fatalf("revoke: %v", err)
	}
	decision, err := sender.Check(ctx, &wa.SendRequest{To: to, Category: wa.Category_CATEGORY_MARKETING, Template: template})
	if err != nil {
		log.Fatalf("check: %v", err)
	}
	fmt.Println("after revoke: allowed:", decision.Allowed, "reason:", decision.Reason)
}
