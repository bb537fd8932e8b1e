package io.wasidecar.example;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.wasidecar.v1.Category;
import io.wasidecar.v1.ConsentServiceGrpc;
import io.wasidecar.v1.ConsentState;
import io.wasidecar.v1.Decision;
import io.wasidecar.v1.GrantRequest;
import io.wasidecar.v1.Jurisdiction;
import io.wasidecar.v1.RevokeRequest;
import io.wasidecar.v1.SendRequest;
import io.wasidecar.v1.SendResponse;
import io.wasidecar.v1.SendServiceGrpc;
import io.wasidecar.v1.Template;
import io.wasidecar.v1.TemplateLanguage;
import io.wasidecar.v1.VerifyServiceGrpc;
import io.wasidecar.v1.WebhookRequest;
import io.wasidecar.v1.WebhookResult;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Drives a running wa-policy-sidecar from Java: record consent, send a template, verify a signed
 * webhook (and refuse a tampered one), revoke consent and ask for the verdict again. Every call
 * carries a W3C {@code traceparent}, so the sidecar's spans and log lines join the caller's trace.
 *
 * <pre>WA_SIDECAR_GRPC_ADDR=127.0.0.1:50051 WA_SIDECAR_APP_SECRET=... java -jar wa-example.jar</pre>
 *
 * <p>{@code WA_SIDECAR_TOKEN}, when set, is sent as {@code authorization: Bearer <token>}. The app
 * secret is only needed to sign a test webhook the way Meta does; a real app forwards Meta's
 * X-Hub-Signature-256 header untouched.
 */
public final class Example {
  private static final String TO = "+16505551234";
  private static final SecureRandom RANDOM = new SecureRandom();

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : value;
  }

  private static String randomHex(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /** The caller's trace context (and bearer token) as metadata; OTel's gRPC agent does this too. */
  private static Metadata headers(String traceId) {
    Metadata headers = new Metadata();
    String parent = "00-" + traceId + "-" + randomHex(8) + "-01";
    headers.put(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER), parent);
    String token = System.getenv("WA_SIDECAR_TOKEN");
    if (token != null && !token.isEmpty()) {
      headers.put(
          Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    }
    return headers;
  }

  /** A Meta-shaped webhook delivery of one text message. */
  private static byte[] inboundText(String phoneNumberId, String text) {
    String json =
        String.format(
            "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"102290129340398\","
                + "\"changes\":[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
                + "\"metadata\":{\"display_phone_number\":\"15550783881\",\"phone_number_id\":\"%s\"},"
                + "\"messages\":[{\"from\":\"%s\",\"id\":\"wamid.java%s\",\"timestamp\":\"%d\","
                + "\"type\":\"text\",\"text\":{\"body\":\"%s\"}}]}}]}]}",
            phoneNumberId, TO.substring(1), randomHex(8), System.currentTimeMillis() / 1000, text);
    return json.getBytes(StandardCharsets.UTF_8);
  }

  private static String sign(String secret, byte[] body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body));
  }

  public static void main(String[] args) throws Exception {
    String addr = env("WA_SIDECAR_GRPC_ADDR", "127.0.0.1:50051");
    String secret = env("WA_SIDECAR_APP_SECRET", "dev-app-secret").split(",")[0];
    String phoneNumberId = env("WA_SIDECAR_PHONE_NUMBER_ID", "106540352242922");
    ManagedChannel channel = ManagedChannelBuilder.forTarget(addr).usePlaintext().build();
    try {
      String traceId = randomHex(16);
      System.out.println("trace: " + traceId);
      var attach = MetadataUtils.newAttachHeadersInterceptor(headers(traceId));
      var sender = SendServiceGrpc.newBlockingStub(channel).withInterceptors(attach);
      var verifier = VerifyServiceGrpc.newBlockingStub(channel).withInterceptors(attach);
      var consent = ConsentServiceGrpc.newBlockingStub(channel).withInterceptors(attach);

      ConsentState state =
          consent
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .grant(
                  GrantRequest.newBuilder()
                      .setPhoneNumber(TO)
                      .addCategories(Category.CATEGORY_MARKETING)
                      .setSource("web-form")
                      .setNoticeVersion("2026-11")
                      .setJurisdiction(Jurisdiction.JURISDICTION_GDPR)
                      .setEvidence("form 8812")
                      .build());
      System.out.println("consent: " + state.getCategories(0).getStatus());

      Template template =
          Template.newBuilder()
              .setName("spring_sale")
              .setLanguage(TemplateLanguage.newBuilder().setCode("en_US"))
              .build();
      SendRequest send =
          SendRequest.newBuilder()
              .setIdempotencyKey("java-example-" + randomHex(6))
              .setTo(TO)
              .setCategory(Category.CATEGORY_MARKETING)
              .setTemplate(template)
              .build();
      SendResponse sent = sender.withDeadlineAfter(10, TimeUnit.SECONDS).send(send);
      System.out.println("send: " + sent.getOutcome() + " " + sent.getMessageId());

      // Verify the raw bytes exactly as they arrived; re-encoding breaks the HMAC.
      byte[] body = inboundText(phoneNumberId, "hello");
      WebhookRequest.Builder webhook =
          WebhookRequest.newBuilder().setSignature(sign(secret, body)).setRemoteIp("127.0.0.1");
      WebhookResult good =
          verifier
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .verifyWebhook(webhook.setBody(ByteString.copyFrom(body)).build());
      System.out.println("webhook valid: " + good.getValid() + " events: " + good.getEventsCount());
      ByteString tampered = ByteString.copyFrom(body).concat(ByteString.copyFromUtf8(" "));
      WebhookResult bad =
          verifier
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .verifyWebhook(webhook.setBody(tampered).build());
      System.out.println("tampered valid: " + bad.getValid() + " reason: " + bad.getReason());

      consent
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .revoke(
              RevokeRequest.newBuilder()
                  .setPhoneNumber(TO)
                  .addCategories(Category.CATEGORY_MARKETING)
                  .setSource("preference-center")
                  .build());
      Decision decision =
          sender
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .check(send.toBuilder().clearIdempotencyKey().build());
      System.out.println(
          "after revoke: allowed: " + decision.getAllowed() + " reason: " + decision.getReason());
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
