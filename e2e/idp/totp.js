// RFC 6238 TOTP (HMAC-SHA1, 30-second steps, 6 digits) for the test IdPs' OTP step.
'use strict';
const crypto = require('crypto');

function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', Buffer.from(secret, 'utf8')).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(value).padStart(6, '0');
}

// Accepts the current step and its neighbours (clock skew at a step boundary).
function verify(secret, code) {
  const step = Math.floor(Date.now() / 30000);
  return [step - 1, step, step + 1].some((s) => crypto.timingSafeEqual(
    Buffer.from(totp(secret, s)), Buffer.from(String(code).padEnd(6).slice(0, 6))));
}

module.exports = { totp, verify };
