using System.Text;
using PgRouter.Protocol.Authentication;
using Xunit;

namespace PgRouter.Tests.Protocol.Authentication;

public class ScramSha256ClientTests
{
    // RFC 7677, section 3: user "user", password "pencil".
    private const string ClientNonce = "rOprNGfwEbeRWgbNEkqO";
    private const string ServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private const string ClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private const string ServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    [Fact]
    public void Exchange_Rfc7677TestVector_ProducesTheSameMessages()
    {
        var scram = new ScramSha256Client("pencil", "user", ClientNonce);

        Assert.Equal("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", Encoding.UTF8.GetString(scram.ClientFirstMessage()));
        Assert.True(scram.TryCreateClientFinalMessage(ServerFirst, out byte[] final, out string? error), error);
        Assert.Equal(ClientFinal, Encoding.UTF8.GetString(final));
        Assert.True(scram.VerifyServerFinalMessage(ServerFinal));
    }

    [Fact]
    public void VerifyServerFinalMessage_WrongSignature_IsRejected()
    {
        var scram = new ScramSha256Client("pencil", "user", ClientNonce);
        scram.TryCreateClientFinalMessage(ServerFirst, out _, out _);

        Assert.False(scram.VerifyServerFinalMessage("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
        Assert.False(scram.VerifyServerFinalMessage("e=invalid-proof"));
    }

    [Fact]
    public void VerifyServerFinalMessage_BeforeTheClientFinal_IsRejected()
    {
        Assert.False(new ScramSha256Client("pencil").VerifyServerFinalMessage(ServerFinal));
    }

    [Theory]
    [InlineData("r=somebodyElse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOxyz,s=not base64!,i=4096")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==")]
    [InlineData("garbage")]
    public void TryCreateClientFinalMessage_MalformedServerFirst_IsRefused(string serverFirst)
    {
        var scram = new ScramSha256Client("pencil", "user", ClientNonce);

        Assert.False(scram.TryCreateClientFinalMessage(serverFirst, out _, out string? error));
        Assert.NotNull(error);
    }

    [Fact]
    public void ClientFirstMessage_PostgreSqlStyle_HasEmptyUserAndRandomNonce()
    {
        string first = Encoding.UTF8.GetString(new ScramSha256Client("secret").ClientFirstMessage());
        string other = Encoding.UTF8.GetString(new ScramSha256Client("secret").ClientFirstMessage());

        Assert.StartsWith("n,,n=,r=", first);
        Assert.NotEqual(first, other);
    }
}

public class Md5PasswordTests
{
    [Fact]
    public void Hash_MatchesPostgreSqlFormula()
    {
        // "md5" + md5hex(md5hex("secret" + "postgres") + salt), computed independently.
        Assert.Equal("md5bb41a296aab6baccb36ff243a562abff", Md5Password.Hash("postgres", "secret", [1, 2, 3, 4]));
    }
}
