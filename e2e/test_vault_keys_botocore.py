"""aws-vault's AssumeRole keys (source_identity, session_tags,
transitive_session_tags) against botocore's STS model: the parameters we send
are the ones botocore's own query serializer writes for the same input, under
the model's member names, within its limits."""

import unittest

from e2e._peers import need

botocore = need("botocore")
import botocore.serialize  # noqa: E402
import botocore.session  # noqa: E402
import botocore.validate  # noqa: E402

import runas_meta as rm  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/developers"


class VaultKeysAgainstBotocore(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.operation = botocore.session.get_session().get_service_model("sts").operation_model("AssumeRole")

    def botocore_body(self, params):
        serializer = botocore.serialize.create_serializer("query")
        report = botocore.validate.ParamValidator().validate(params, self.operation.input_shape)
        self.assertFalse(report.has_errors(), report.generate_report())
        return serializer.serialize_to_request(params, self.operation)["body"]

    def test_the_same_parameters_as_botocores_serializer(self):
        profile = rm.Profile("order-dev", role_arn=ROLE, source_identity="your_user_name",
                             session_tags=rm.session_tags("key1=value1,key2=value 2,Ünï=x:y/z"),
                             transitive_session_tags=rm.tag_keys("key1,key2"))
        ours = rm.assume_role_extras(profile)
        body = self.botocore_body({
            "RoleArn": ROLE, "RoleSessionName": "session", "SourceIdentity": "your_user_name",
            "Tags": [{"Key": "key1", "Value": "value1"}, {"Key": "key2", "Value": "value 2"},
                     {"Key": "Ünï", "Value": "x:y/z"}],
            "TransitiveTagKeys": ["key1", "key2"]})
        theirs = {k: v for k, v in body.items() if k.startswith(("Tags", "TransitiveTagKeys", "SourceIdentity"))}
        self.assertEqual(ours, theirs)
        self.assertEqual({k.split(".")[0] for k in ours}, {"SourceIdentity", "Tags", "TransitiveTagKeys"})
        self.assertTrue({k.split(".")[0] for k in ours} <= set(self.operation.input_shape.members))

    def test_our_limits_are_the_models(self):
        members = self.operation.input_shape.members
        tag = members["Tags"].member.members
        self.assertEqual(members["Tags"].metadata["max"], rm.MAX_SESSION_TAGS)
        self.assertEqual(members["TransitiveTagKeys"].metadata["max"], rm.MAX_SESSION_TAGS)
        self.assertEqual((tag["Key"].metadata["min"], tag["Key"].metadata["max"]), (1, 128))
        self.assertEqual(tag["Value"].metadata["max"], 256)
        self.assertIn("{1,128}", rm.TAG_KEY.pattern)
        self.assertIn("{0,256}", rm.TAG_VALUE.pattern)
        source = members["SourceIdentity"].metadata
        self.assertEqual((source["min"], source["max"], source["pattern"]), (2, 64, r"[\w+=,.@-]*"))
        self.assertEqual(rm.SOURCE_IDENTITY.pattern, source["pattern"][:-1] + "{2,64}\\Z")
        for good in ("a" * 128 + "=" + "b" * 256, "k=", "a b=c d"):
            rm.session_tags(good)
        for bad in ("a" * 129 + "=v", "k=" + "v" * 257, "k\tx=v", ",".join("k%d=v" % i for i in range(51))):
            with self.assertRaises(ValueError, msg=bad[:40]):
                rm.session_tags(bad)


if __name__ == "__main__":
    unittest.main()
