using PgRouter.Protocol.Authentication;
using Xunit;

namespace PgRouter.Tests.Protocol.Authentication;

public class ScramSecretTests
{
    // Read from pg_authid of the test bed's PostgreSQL 15 after ALTER ROLE app PASSWORD 'app'.
    private const string Stored = "SCRAM-SHA-256$4096:jJbJCU9Pq0i2u8uOS0+nOA==$FgwzphsTYEsOZlgoYFN2BOcYewNelB9XvkoigNKIShA=:6dE8FFqypABSeE2HS1haO2m9/hdv+M/ueMtt2kUOzZg=";

    [Fact]
    public void FromPassword_WithPostgreSqlsSalt_GivesPostgreSqlsSecret()
    {
        Assert.True(ScramSecret.TryParse(Stored, out var parsed));

        var derived = ScramSecret.FromPassword("app", parsed.Salt, parsed.Iterations);

        Assert.Equal(Stored, derived.ToString());
        Assert.Equal(parsed.StoredKey, derived.StoredKey);
        Assert.Equal(parsed.ServerKey, derived.ServerKey);
    }

    [Theory]
    [InlineData("md5d0c53a5e1b4ea1d5ec12c8df6b3b3e26")]
    [InlineData("SCRAM-SHA-256$4096:jJbJCU9Pq0i2u8uOS0+nOA==")]
    [InlineData("SCRAM-SHA-256$0:jJbJCU9Pq0i2u8uOS0+nOA==$FgwzphsTYEsOZlgoYFN2BOcYewNelB9XvkoigNKIShA=:6dE8FFqypABSeE2HS1haO2m9/hdv+M/ueMtt2kUOzZg=")]
    [InlineData("SCRAM-SHA-256$4096:jJbJCU9Pq0i2u8uOS0+nOA==$AAAA:6dE8FFqypABSeE2HS1haO2m9/hdv+M/ueMtt2kUOzZg=")]
    [InlineData("SCRAM-SHA-256$4096:!!!$FgwzphsTYEsOZlgoYFN2BOcYewNelB9XvkoigNKIShA=:6dE8FFqypABSeE2HS1haO2m9/hdv+M/ueMtt2kUOzZg=")]
    public void TryParse_NotASecret_Fails(string text) => Assert.False(ScramSecret.TryParse(text, out _));

    [Fact]
    public void FromPassword_RandomSalt_DiffersEachTime()
    {
        Assert.NotEqual(ScramSecret.FromPassword("x").ToString(), ScramSecret.FromPassword("x").ToString());
    }
}

public class Rfc5802Tests
{
    // RFC 5802, section 5: the SCRAM-SHA-1 example, which checks the same arithmetic with SHA-1.
    [Fact]
    public void Client_Rfc5802Sha1TestVector()
    {
        var scram = new ScramSha256Client("pencil", "user", "fyko+d2lbbFgONRv9qkxdawL", new ScramMath(System.Security.Cryptography.HashAlgorithmName.SHA1));

        Assert.Equal("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", System.Text.Encoding.UTF8.GetString(scram.ClientFirstMessage()));
        Assert.True(scram.TryCreateClientFinalMessage("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096", out byte[] final, out _));
        Assert.Equal("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", System.Text.Encoding.UTF8.GetString(final));
        Assert.True(scram.VerifyServerFinalMessage("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="));
    }
}

public class SaslInitialResponseTests
{
    [Fact]
    public void TryParse_MechanismLengthAndData()
    {
        byte[] body = [.. "SCRAM-SHA-256\0"u8.ToArray(), 0, 0, 0, 3, .. "abc"u8.ToArray()];

        Assert.True(SaslInitialResponse.TryParse(body, out string mechanism, out string data));
        Assert.Equal(("SCRAM-SHA-256", "abc"), (mechanism, data));
    }

    [Theory]
    [InlineData(new byte[] { (byte)'S', 0, 0, 0, 0, 9, (byte)'a' })]
    [InlineData(new byte[] { (byte)'S', 0, 0, 0 })]
    [InlineData(new byte[] { (byte)'S' })]
    [InlineData(new byte[] { (byte)'S', 0, 0xff, 0xff, 0xff, 0xfe })]
    public void TryParse_Malformed_Fails(byte[] body) => Assert.False(SaslInitialResponse.TryParse(body, out _, out _));
}
