using System.Security.Cryptography;
using System.Text;

namespace PgRouter.Protocol.Authentication;

/// <summary>
/// The client side of SCRAM (RFC 5802, RFC 7677) as PostgreSQL speaks it: no channel binding
/// ("n,,") and an empty user name, since the server takes the user from the startup packet. It
/// proves either a password, or keys recovered from a client's own exchange with PgRouter.
/// </summary>
internal sealed class ScramSha256Client
{
    public const string Mechanism = "SCRAM-SHA-256";
    private const string Gs2Header = "n,,";

    private readonly string? _password;
    private readonly ScramKeys? _keys;
    private readonly ScramMath _math;
    private readonly string _clientFirstBare;
    private byte[]? _expectedServerSignature;

    public ScramSha256Client(string password, string user = "", string? clientNonce = null, ScramMath? math = null)
        : this(user, clientNonce, math)
    {
        _password = password;
    }

    public ScramSha256Client(ScramKeys keys, string? clientNonce = null)
        : this("", clientNonce, null)
    {
        _keys = keys;
    }

    private ScramSha256Client(string user, string? clientNonce, ScramMath? math)
    {
        _math = math ?? ScramMath.Sha256;
        ClientNonce = clientNonce ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        _clientFirstBare = $"n={user},r={ClientNonce}";
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
        if (!attributes.TryGetValue('s', out string? saltText) || !ScramAttributes.TryBase64(saltText, out byte[] salt))
        {
            error = "SCRAM server-first message has no valid salt";
            return false;
        }
        if (!attributes.TryGetValue('i', out string? iterationsText) || !int.TryParse(iterationsText, out int iterations) || iterations < 1)
        {
            error = "SCRAM server-first message has no valid iteration count";
            return false;
        }

        byte[] clientKey, serverKey;
        if (_keys is not null)
        {
            if (!salt.AsSpan().SequenceEqual(_keys.Secret.Salt) || iterations != _keys.Secret.Iterations)
            {
                error = "the server stores a different SCRAM secret for this user than the one the client proved (salt or iterations differ)";
                return false;
            }
            (clientKey, serverKey) = (_keys.ClientKey, _keys.Secret.ServerKey);
        }
        else
        {
            byte[] saltedPassword = _math.SaltedPassword(_password!, salt, iterations);
            (clientKey, serverKey) = (_math.ClientKey(saltedPassword), _math.ServerKey(saltedPassword));
        }

        string clientFinalWithoutProof = $"c={Convert.ToBase64String(Encoding.ASCII.GetBytes(Gs2Header))},r={nonce}";
        byte[] authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{serverFirst},{clientFinalWithoutProof}");
        byte[] proof = ScramMath.Xor(clientKey, _math.Hmac(_math.StoredKey(clientKey), authMessage));
        _expectedServerSignature = _math.Hmac(serverKey, authMessage);
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
            && ScramAttributes.TryBase64(signature, out byte[] received)
            && CryptographicOperations.FixedTimeEquals(received, _expectedServerSignature);
    }
}
