// An ordinary app on MQTT.js 5 (the library behind Node-RED and most web dashboards), blank client id:
// subscribe to telemetry and to cmd/ack, send one command, print what arrived as JSON lines, exit 0
// once both a telemetry message and the command's ack arrived (exit 1 after SZ_WAIT_MS).
// Env: SZ_URL, SZ_USER, SZ_PASSWORD, SZ_TELEMETRY (filter), SZ_CMD (topic); NODE_PATH finds mqtt.
const mqtt = require("mqtt");

const env = process.env;
const wait = Number(env.SZ_WAIT_MS || 20000);
const client = mqtt.connect(env.SZ_URL, {
  username: env.SZ_USER, password: env.SZ_PASSWORD, clientId: "", clean: true,
  protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000,
});
const got = { telemetry: false, ack: false };
const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const timer = setTimeout(() => { say({ timeout: got }); client.end(true); process.exit(1); }, wait);

client.on("error", (err) => { say({ error: String(err) }); clearTimeout(timer); process.exit(1); });
client.on("connect", () => {
  say({ connected: true });
  client.subscribe([env.SZ_TELEMETRY, env.SZ_CMD + "/ack"], { qos: 1 }, (err, granted) => {
    if (err) { say({ error: String(err) }); return; }
    say({ granted: granted.map((g) => g.qos) });
    client.publish(env.SZ_CMD, JSON.stringify({ id: "mqttjs-1", action: "dim", params: { level: 30 } }), { qos: 1 });
  });
});
client.on("message", (topic, payload) => {
  const doc = JSON.parse(payload.toString());
  if (topic.endsWith("/cmd/ack")) { got.ack = doc.id === "mqttjs-1" && doc.ok === true; say({ ack: doc }); }
  else if (topic.endsWith("/telemetry")) { if (!got.telemetry) say({ telemetry: topic }); got.telemetry = true; }
  if (got.telemetry && got.ack) { clearTimeout(timer); client.end(false, {}, () => process.exit(0)); }
});
