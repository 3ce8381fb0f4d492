using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PgRouter.Tls;
using Xunit;

namespace PgRouter.Tests.Tls;

public class ChannelBindingTests
{
    private static X509Certificate2 SelfSigned(HashAlgorithmName hash)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest("CN=127.0.0.1", key, hash);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    [Fact]
    public void TlsServerEndPoint_UsesTheCertificatesSignatureHash()
    {
        using var sha384 = SelfSigned(HashAlgorithmName.SHA384);

        Assert.Equal(SHA384.HashData(sha384.RawData), ChannelBinding.TlsServerEndPoint(sha384));
    }

    [Fact]
    public void TlsServerEndPoint_Sha256ForSha256Certificates()
    {
        using var sha256 = SelfSigned(HashAlgorithmName.SHA256);

        Assert.Equal(SHA256.HashData(sha256.RawData), ChannelBinding.TlsServerEndPoint(sha256));
    }
}
