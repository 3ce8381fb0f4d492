using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PgRouter.Tls;

/// <summary>
/// tls-server-end-point channel binding (RFC 5929): the hash of the server's certificate, with the
/// certificate's own signature hash, except that MD5 and SHA-1 become SHA-256.
/// </summary>
internal static class ChannelBinding
{
    public static byte[] TlsServerEndPoint(X509Certificate2 certificate)
    {
        var hash = certificate.SignatureAlgorithm.Value switch
        {
            "1.2.840.113549.1.1.12" or "1.2.840.10045.4.3.3" => HashAlgorithmName.SHA384,
            "1.2.840.113549.1.1.13" or "1.2.840.10045.4.3.4" => HashAlgorithmName.SHA512,
            _ => HashAlgorithmName.SHA256,
        };
        return CryptographicOperations.HashData(hash, certificate.RawData);
    }
}
