// The JS SDK v3's shared-config provider (fromIni) for the profile in
// AWS_PROFILE, as an application gets it: prints the access key and expiry.
import { fromIni } from "@aws-sdk/credential-providers";

const creds = await fromIni({ profile: process.env.AWS_PROFILE })();
console.log(JSON.stringify({ accessKeyId: creds.accessKeyId, expiration: creds.expiration }));
