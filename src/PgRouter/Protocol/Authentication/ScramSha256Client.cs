using System.Security.Cryptography;
using System.Text;

namespace PgRouter.Protocol.Authentication;

/// <summary>
/// The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it: no channel
/// binding ("n,,"), and an empty user name because the server takes the user from the startup
/// packet. Passwords are used as given (no SASLprep), which is exact for ASCII passwords.
/// </summary>
internal sealed class ScramSha256Client
{
    public const string Mechanism = "SCRAM-SHA-256";
    private const string Gs2Header = "n,,";

    private readonly string _password;
    private readonly string _clientFirstBare;
    private byte[]? _expectedServerSignature;

    public ScramSha256Client(string password, string user = "", string? clientNonce = null)
    {
        _password = password;
        clientNonce ??= Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        ClientNonce = clientNonce;
        _clientFirstBare = $"n={user},r={clientNonce}";
    }

    public string ClientNonce { get; }

    public byte[] ClientFirstMessage() => Encoding.UTF8.GetBytes(Gs2Header + _clientFirstBare);

    /// <summary>Answers the server-first message (r=…,s=…,i=…) with the client-final message carrying the proof.</summary>
    public bool TryCreateClientFinalMessage(string serverFirst, out byte[] clientFinal, out string? error)
    {
        clientFinal = [];
        var attributes = ScramAttributes.Parse(serverFirst);
        if (!attributes.TryGetValue('r', out string? nonce) || !nonce.StartsWith(ClientNonce, StringComparison.Ordinal) || nonce.Length == ClientNonce.Length)
        {
            error = "SCRAM server nonce does not extend the client nonce";
            return false;
        }
        if (!attributes.TryGetValue('s', out string? saltText) || !TryFromBase64(saltText, out byte[] salt))
        {
            error = "SCRAM server-first message has no valid salt";
            return false;
        }
        if (!attributes.TryGetValue('i', out string? iterationsText) || !int.TryParse(iterationsText, out int iterations) || iterations < 1)
        {
            error = "SCRAM server-first message has no valid iteration count";
            return false;
        }

        byte[] saltedPassword = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(_password), salt, iterations, HashAlgorithmName.SHA256, 32);
        byte[] clientKey = HMACSHA256.HashData(saltedPassword, "Client Key"u8);
        byte[] serverKey = HMACSHA256.HashData(saltedPassword, "Server Key"u8);
        byte[] storedKey = SHA256.HashData(clientKey);

        string clientFinalWithoutProof = $"c={Convert.ToBase64String(Encoding.ASCII.GetBytes(Gs2Header))},r={nonce}";
        byte[] authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{serverFirst},{clientFinalWithoutProof}");
        byte[] clientSignature = HMACSHA256.HashData(storedKey, authMessage);
        byte[] proof = new byte[clientKey.Length];
        for (int i = 0; i < proof.Length; i++)
        {
            proof[i] = (byte)(clientKey[i] ^ clientSignature[i]);
        }

        _expectedServerSignature = HMACSHA256.HashData(serverKey, authMessage);
        clientFinal = Encoding.UTF8.GetBytes($"{clientFinalWithoutProof},p={Convert.ToBase64String(proof)}");
        error = null;
        return true;
    }

    /// <summary>The server-final message (v=…) must carry the signature only the real server can compute.</summary>
    public bool VerifyServerFinalMessage(string serverFinal)
    {
        var attributes = ScramAttributes.Parse(serverFinal);
        return _expectedServerSignature is not null
            && attributes.TryGetValue('v', out string? signature)
            && TryFromBase64(signature, out byte[] received)
            && CryptographicOperations.FixedTimeEquals(received, _expectedServerSignature);
    }

    private static bool TryFromBase64(string text, out byte[] bytes)
    {
        bytes = new byte[text.Length];
        if (Convert.TryFromBase64String(text, bytes, out int written))
        {
            bytes = bytes[..written];
            return true;
        }
        return false;
    }
}
