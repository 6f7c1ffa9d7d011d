// The shortener as most teams would write it on Node.js 20 with the AWS SDK for JavaScript v3: the
// peer the Rust shortener is measured against (benches/benches/peer.rs). Same design as the seed:
// create = UpdateItem ADD on a counter + conditional PutItem; redirect = GetItem + 308.
// Its items carry the prefix KEY_PREFIX (default "node-peer#") so they never meet the Rust ones.
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";

const TABLE = process.env.LINKS_TABLE;
const PREFIX = process.env.KEY_PREFIX ?? "node-peer#";
const BASE = process.env.SHORT_URL_BASE ?? "https://sho.rt";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// Created once per instance, like a Lambda's module scope.
const client = new DynamoDBClient({});

const json = (statusCode, body) => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

function base62(n) {
  let out = "";
  do {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out;
}

async function create(event) {
  let url;
  try {
    url = new URL(JSON.parse(event.body ?? "").url);
  } catch {
    return json(400, { error: "invalid_url", message: "send {\"url\": \"https://...\"}" });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return json(400, { error: "invalid_url", message: "only http(s) URLs" });
  }
  const counter = await client.send(
    new UpdateItemCommand({
      TableName: TABLE,
      Key: { pk: { S: `${PREFIX}counter` } },
      UpdateExpression: "ADD #v :one",
      ExpressionAttributeNames: { "#v": "value" },
      ExpressionAttributeValues: { ":one": { N: "1" } },
      ReturnValues: "UPDATED_NEW",
    }),
  );
  const code = base62(Number(counter.Attributes.value.N));
  await client.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: {
        pk: { S: `${PREFIX}link#${code}` },
        url: { S: url.href },
        createdAt: { S: new Date().toISOString() },
      },
      ConditionExpression: "attribute_not_exists(pk)",
    }),
  );
  return json(201, { code, shortUrl: `${BASE}/${code}` });
}

async function redirect(code) {
  const found = await client.send(
    new GetItemCommand({
      TableName: TABLE,
      Key: { pk: { S: `${PREFIX}link#${code}` } },
      ConsistentRead: true,
    }),
  );
  if (!found.Item) return json(404, { error: "not_found", message: "no such link" });
  return { statusCode: 308, headers: { location: found.Item.url.S }, body: "" };
}

// An API Gateway HTTP API (payload 2.0) handler.
export async function handler(event) {
  const method = event.requestContext?.http?.method;
  const path = event.rawPath ?? "/";
  if (method === "POST" && path === "/") return create(event);
  if (method === "GET" && /^\/[0-9A-Za-z]+$/.test(path)) return redirect(path.slice(1));
  return json(404, { error: "not_found", message: "no such route" });
}
