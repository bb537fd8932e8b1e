// A Node app written from the proto alone: no wa-sidecar client library, only
// @grpc/grpc-js, @grpc/proto-loader and the .proto files copied beside it.
// It records consent, sends, verifies a webhook from its raw bytes (and sees a
// re-serialised copy refused), then asks Check. One line per step on stdout.
"use strict";
const path = require("node:path");
const crypto = require("node:crypto");
const grpc = require("@grpc/grpc-js");
const loader = require("@grpc/proto-loader");

const ADDR = process.env.SIDECAR_ADDR;
const APP_SECRET = process.env.APP_SECRET;
const TO = process.env.TO;
const PROTO = path.join(__dirname, "proto");

const definition = loader.loadSync(
  ["send.proto", "verify.proto", "consent.proto"].map((f) => path.join(PROTO, "wasidecar/v1", f)),
  { includeDirs: [PROTO], enums: String, longs: String, defaults: true, keepCase: true },
);
const v1 = grpc.loadPackageDefinition(definition).wasidecar.v1;
const creds = grpc.credentials.createInsecure();
const send = new v1.SendService(ADDR, creds);
const verify = new v1.VerifyService(ADDR, creds);
const consent = new v1.ConsentService(ADDR, creds);

function call(client, method, request) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 10000);
    client[method](request, new grpc.Metadata(), { deadline }, (err, reply) =>
      err ? reject(err) : resolve(reply),
    );
  });
}

function inboundStop() {
  const now = Math.floor(Date.now() / 1000);
  const value = {
    messaging_product: "whatsapp",
    metadata: { display_phone_number: "15550783881", phone_number_id: "106540352242922" },
    contacts: [{ profile: { name: "Node User" }, wa_id: TO.slice(1) }],
    messages: [
      { from: TO.slice(1), id: `wamid.node${Date.now()}`, timestamp: String(now), type: "text", text: { body: "STOP" } },
    ],
  };
  // Spaces after the separators, as some senders write: a re-serialised copy differs.
  const json = JSON.stringify(
    { object: "whatsapp_business_account", entry: [{ id: "102290129340398", changes: [{ field: "messages", value }] }] },
    null,
    1,
  );
  return Buffer.from(json, "utf8");
}

async function main() {
  const template = { name: "spring_sale", language: { code: "en_US" } };
  const granted = await call(consent, "Grant", {
    phone_number: TO,
    categories: ["CATEGORY_MARKETING"],
    source: "node-form",
    notice_version: "2026-11",
    evidence: "node app from the proto",
  });
  const marketing = granted.categories.find((c) => c.category === "CATEGORY_MARKETING");
  console.log(`grant: ${marketing ? marketing.status : "missing"}`);

  const sent = await call(send, "Send", {
    idempotency_key: `node-proto-${Date.now()}`,
    to: TO,
    category: "CATEGORY_MARKETING",
    template,
  });
  console.log(`send: ${sent.outcome} ${sent.message_id}`);

  const raw = inboundStop();
  const signature = "sha256=" + crypto.createHmac("sha256", APP_SECRET).update(raw).digest("hex");
  const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString("utf8"))), "utf8");
  const bad = await call(verify, "VerifyWebhook", { body: reserialised, signature, remote_ip: "127.0.0.1" });
  console.log(`re-serialised: valid=${bad.valid} ${bad.reason}`);
  const good = await call(verify, "VerifyWebhook", { body: raw, signature, remote_ip: "127.0.0.1" });
  console.log(`raw: valid=${good.valid} opt_out=${good.events[0].message.opt_out}`);

  const decision = await call(send, "Check", { to: TO, category: "CATEGORY_MARKETING", template });
  console.log(`check: ${decision.reason}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`failed: ${err.code} ${err.details || err.message}`);
    process.exit(1);
  },
);
