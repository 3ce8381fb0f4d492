using System.Security.Cryptography;
using System.Text;
using PgRouter.Protocol.Authentication;
using Xunit;

namespace PgRouter.Tests.Protocol.Authentication;

public class ScramServerExchangeTests
{
    // RFC 7677, section 3: the server's side of the same exchange.
    private static readonly ScramSecret Pencil = ScramSecret.FromPassword("pencil", Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
    private const string ServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

    private static string Text(byte[]? bytes) => Encoding.UTF8.GetString(bytes!);

    [Fact]
    public void Exchange_Rfc7677TestVector_ServerSide()
    {
        var exchange = new ScramServerExchange(Pencil, "user", channelBinding: null, ServerNonce);

        var first = exchange.HandleClientFirst("SCRAM-SHA-256", "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        var final = exchange.HandleClientFinal("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");

        Assert.Equal("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", Text(first.Message));
        Assert.Null(final.Error);
        Assert.Equal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", Text(final.Message));
    }

    [Fact]
    public void Exchange_RecoveredKeys_LogInToAnotherServerWithTheSameSecret()
    {
        // What PgRouter does: verify the client, keep its ClientKey, prove it again to a server.
        var secret = ScramSecret.FromPassword("app");
        var client = new ScramSha256Client("app");
        var keys = RunExchange(client, new ScramServerExchange(secret, "app", null));

        var server = new ScramServerExchange(secret, "app", null);
        var replay = new ScramSha256Client(keys!);
        var first = server.HandleClientFirst(ScramSha256Client.Mechanism, Encoding.UTF8.GetString(replay.ClientFirstMessage()));
        Assert.True(replay.TryCreateClientFinalMessage(Text(first.Message), out byte[] final, out _));
        var result = server.HandleClientFinal(Encoding.UTF8.GetString(final));

        Assert.Null(result.Error);
        Assert.True(replay.VerifyServerFinalMessage(Text(result.Message)));
        Assert.Equal(keys!.ClientKey, result.Keys!.ClientKey);
    }

    [Fact]
    public void Exchange_KeysForADifferentSecret_AreRefusedByTheClientBeforeProving()
    {
        var keys = RunExchange(new ScramSha256Client("app"), new ScramServerExchange(ScramSecret.FromPassword("app"), "app", null));
        var otherSalt = new ScramServerExchange(ScramSecret.FromPassword("app"), "app", null);
        var replay = new ScramSha256Client(keys!);

        var first = otherSalt.HandleClientFirst(ScramSha256Client.Mechanism, Encoding.UTF8.GetString(replay.ClientFirstMessage()));

        Assert.False(replay.TryCreateClientFinalMessage(Text(first.Message), out _, out string? error));
        Assert.Contains("different SCRAM secret", error);
    }

    [Fact]
    public void Exchange_WrongPassword_Is28P01WithPostgreSqlsWords()
    {
        var keys = RunExchange(new ScramSha256Client("wrong"), new ScramServerExchange(Pencil, "user", null), out var error);

        Assert.Null(keys);
        Assert.Equal(new PgRouter.Protocol.PgError("28P01", "password authentication failed for user \"user\""), error);
    }

    [Fact]
    public void Exchange_UnknownUser_RunsToTheEndThenFailsLikeAWrongPassword_WithAStableSalt()
    {
        var first = new ScramServerExchange(null, "ghost", null).HandleClientFirst("SCRAM-SHA-256", "n,,n=,r=abc");
        var again = new ScramServerExchange(null, "ghost", null).HandleClientFirst("SCRAM-SHA-256", "n,,n=,r=abc");
        var keys = RunExchange(new ScramSha256Client("anything"), new ScramServerExchange(null, "ghost", null), out var error);

        Assert.Equal(Salt(first), Salt(again));
        Assert.NotEqual(Salt(first), Salt(new ScramServerExchange(null, "other", null).HandleClientFirst("SCRAM-SHA-256", "n,,n=,r=abc")));
        Assert.Null(keys);
        Assert.Equal("28P01", error!.SqlState);
        Assert.Equal("password authentication failed for user \"ghost\"", error.Message);
    }

    [Fact]
    public void Plus_WithTheRightBinding_Succeeds_AndWithAnotherFails()
    {
        byte[] binding = SHA256.HashData("certificate"u8);
        var exchange = new ScramServerExchange(Pencil, "user", binding, ServerNonce);
        var first = exchange.HandleClientFirst("SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,n=,r=nonce");
        string nonce = "nonce" + ServerNonce;
        string cbind = Convert.ToBase64String([.. "p=tls-server-end-point,,"u8.ToArray(), .. binding]);

        var proofFor = (string clientFinalWithoutProof) =>
        {
            var math = ScramMath.Sha256;
            byte[] salted = math.SaltedPassword("pencil", Pencil.Salt, 4096);
            byte[] clientKey = math.ClientKey(salted);
            byte[] authMessage = Encoding.UTF8.GetBytes($"n=,r=nonce,{Text(first.Message)},{clientFinalWithoutProof}");
            return Convert.ToBase64String(ScramMath.Xor(clientKey, math.Hmac(math.StoredKey(clientKey), authMessage)));
        };

        string good = $"c={cbind},r={nonce}";
        Assert.Null(exchange.HandleClientFinal($"{good},p={proofFor(good)}").Error);

        var other = new ScramServerExchange(Pencil, "user", binding, ServerNonce);
        other.HandleClientFirst("SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,n=,r=nonce");
        string forged = $"c={Convert.ToBase64String([.. "p=tls-server-end-point,,"u8.ToArray(), .. new byte[32]])},r={nonce}";
        Assert.Equal("SCRAM channel binding check failed", other.HandleClientFinal($"{forged},p={proofFor(forged)}").Error!.Message);
    }

    [Theory]
    [InlineData(true, "SCRAM-SHA-256", "y,,n=,r=abc", "SCRAM channel binding negotiation error")]
    [InlineData(false, "SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,n=,r=abc", "client selected an invalid SASL authentication mechanism")]
    [InlineData(true, "SCRAM-SHA-256-PLUS", "n,,n=,r=abc", "malformed SCRAM message")]
    [InlineData(true, "SCRAM-SHA-256-PLUS", "p=tls-unique,,n=,r=abc", "unsupported SCRAM channel-binding type")]
    [InlineData(false, "SCRAM-SHA-256", "p=tls-server-end-point,,n=,r=abc", "malformed SCRAM message")]
    [InlineData(false, "SCRAM-SHA-256", "n,a=admin,n=,r=abc", "client uses authorization identity, but it is not supported")]
    [InlineData(false, "SCRAM-SHA-256", "n,,r=abc", "malformed SCRAM message")]
    [InlineData(false, "SCRAM-SHA-256", "n,,n=,r=", "malformed SCRAM message")]
    [InlineData(false, "SCRAM-SHA-256", "n,,n=,r=abc,m=ext", "malformed SCRAM message")]
    [InlineData(false, "SCRAM-SHA-1", "n,,n=,r=abc", "client selected an invalid SASL authentication mechanism")]
    [InlineData(false, "SCRAM-SHA-256", "garbage", "malformed SCRAM message")]
    public void HandleClientFirst_Malformed_Is08P01(bool tls, string mechanism, string clientFirst, string message)
    {
        var exchange = new ScramServerExchange(Pencil, "user", tls ? new byte[32] : null);

        var step = exchange.HandleClientFirst(mechanism, clientFirst);

        Assert.Equal("08P01", step.Error!.SqlState);
        Assert.Equal(message, step.Error.Message);
    }

    [Theory]
    [InlineData("c=biws,r=abcSERVER")]
    [InlineData("c=biws,p=AAAA")]
    [InlineData("c=biws,r=wrongnonce,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")]
    [InlineData("c=eSws,r=abcSERVER,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")]
    [InlineData("c=biws,r=abcSERVER,p=not-base64")]
    [InlineData("c=biws,r=abcSERVER,x=1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")]
    public void HandleClientFinal_Malformed_Is08P01(string clientFinal)
    {
        var exchange = new ScramServerExchange(Pencil, "user", null, "SERVER");
        exchange.HandleClientFirst("SCRAM-SHA-256", "n,,n=,r=abc");

        Assert.Equal("08P01", exchange.HandleClientFinal(clientFinal).Error!.SqlState);
    }

    [Fact]
    public void Mechanisms_PlusOnlyWithTls()
    {
        Assert.Equal(["SCRAM-SHA-256"], ScramServerExchange.Mechanisms(false));
        Assert.Equal(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], ScramServerExchange.Mechanisms(true));
    }

    private static string Salt(ScramStep step) => ScramAttributes.Parse(Text(step.Message))['s'];

    private static ScramKeys? RunExchange(ScramSha256Client client, ScramServerExchange server) => RunExchange(client, server, out _);

    private static ScramKeys? RunExchange(ScramSha256Client client, ScramServerExchange server, out PgRouter.Protocol.PgError? error)
    {
        var first = server.HandleClientFirst(ScramSha256Client.Mechanism, Encoding.UTF8.GetString(client.ClientFirstMessage()));
        Assert.Null(first.Error);
        Assert.True(client.TryCreateClientFinalMessage(Text(first.Message), out byte[] final, out _));
        var result = server.HandleClientFinal(Encoding.UTF8.GetString(final));
        error = result.Error;
        if (result.Error is null)
        {
            Assert.True(client.VerifyServerFinalMessage(Text(result.Message)));
        }
        return result.Keys;
    }
}
