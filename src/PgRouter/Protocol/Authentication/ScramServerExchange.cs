using System.Security.Cryptography;
using System.Text;

namespace PgRouter.Protocol.Authentication;

/// <summary>One step of the server side of SCRAM: a message for the client, or the end.</summary>
internal sealed record ScramStep(byte[]? Message, PgError? Error, ScramKeys? Keys)
{
    public static ScramStep Continue(byte[] message) => new(message, null, null);

    public static ScramStep Fail(PgError error) => new(null, error, null);
}

/// <summary>
/// The server side of SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (tls-server-end-point), checked against a
/// stored secret, with PostgreSQL's rules and messages. An unknown user gets a mock exchange that
/// fails only at the end, exactly like a wrong password. A successful proof yields the ClientKey.
/// </summary>
internal sealed class ScramServerExchange
{
    public const string Mechanism = ScramSha256Client.Mechanism;
    public const string PlusMechanism = "SCRAM-SHA-256-PLUS";
    public const string EndPointBinding = "tls-server-end-point";

    private static readonly byte[] MockKey = RandomNumberGenerator.GetBytes(32);
    private static readonly ScramMath Math = ScramMath.Sha256;

    private readonly ScramSecret _secret;
    private readonly bool _mock;
    private readonly string _user;
    private readonly byte[]? _channelBinding;
    private readonly string _serverNonce;
    private string _clientFirstBare = "";
    private string _serverFirst = "";
    private string _nonce = "";
    private byte[] _expectedChannelBinding = [];

    /// <param name="secret">The user's stored secret; null for an unknown user (mock exchange).</param>
    /// <param name="channelBinding">tls-server-end-point data of PgRouter's certificate, when the client is on TLS.</param>
    public ScramServerExchange(ScramSecret? secret, string user, byte[]? channelBinding, string? serverNonce = null)
    {
        _mock = secret is null;
        // The same salt for the same unknown user every time, so probing cannot tell users apart.
        _secret = secret ?? new ScramSecret(ScramSecret.DefaultIterations, Math.Hmac(MockKey, Encoding.UTF8.GetBytes(user))[..16], new byte[32], new byte[32]);
        _user = user;
        _channelBinding = channelBinding;
        _serverNonce = serverNonce ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
    }

    /// <summary>The mechanisms to offer in AuthenticationSASL, -PLUS only over TLS.</summary>
    public static string[] Mechanisms(bool channelBindingAvailable) =>
        channelBindingAvailable ? [PlusMechanism, Mechanism] : [Mechanism];

    /// <summary>SASLInitialResponse: the chosen mechanism and the client-first message.</summary>
    public ScramStep HandleClientFirst(string mechanism, string clientFirst)
    {
        bool plus = mechanism == PlusMechanism;
        if (!plus && mechanism != Mechanism || plus && _channelBinding is null)
        {
            return Malformed("client selected an invalid SASL authentication mechanism");
        }

        // gs2-header: channel binding flag, authorization identity, then the bare message.
        int first = clientFirst.IndexOf(',');
        int second = first < 0 ? -1 : clientFirst.IndexOf(',', first + 1);
        if (second < 0)
        {
            return Malformed("malformed SCRAM message", "The GS2 header is incomplete.");
        }
        string flag = clientFirst[..first];
        switch (flag)
        {
            case "n" when plus:
            case "y" when plus:
                return Malformed("malformed SCRAM message", "The client selected SCRAM-SHA-256-PLUS but sent no channel binding data.");
            case "y" when _channelBinding is not null:
                return Malformed("SCRAM channel binding negotiation error",
                    "The client supports SCRAM channel binding but thinks the server does not. However, this server does support channel binding.");
            case "n" or "y":
                break;
            case "p=" + EndPointBinding when plus:
                _expectedChannelBinding = _channelBinding!;
                break;
            default:
                return flag.StartsWith("p=", StringComparison.Ordinal) && plus
                    ? Malformed("unsupported SCRAM channel-binding type", $"Only {EndPointBinding} is supported.")
                    : Malformed("malformed SCRAM message", "Channel binding data was sent to a mechanism without it.");
        }
        if (second != first + 1)
        {
            return Malformed("client uses authorization identity, but it is not supported");
        }

        string gs2Header = clientFirst[..(second + 1)];
        _expectedChannelBinding = [.. Encoding.ASCII.GetBytes(gs2Header), .. _expectedChannelBinding];
        _clientFirstBare = clientFirst[(second + 1)..];
        string[] parts = _clientFirstBare.Split(',');
        if (parts.Length < 2 || !parts[0].StartsWith("n=", StringComparison.Ordinal) || !parts[1].StartsWith("r=", StringComparison.Ordinal))
        {
            return Malformed("malformed SCRAM message", "The client-first message lacks the user or the nonce.");
        }
        if (parts.Length > 2)
        {
            return Malformed("malformed SCRAM message", "SCRAM extensions are not supported.");
        }
        string clientNonce = parts[1][2..];
        if (clientNonce.Length == 0 || clientNonce.Any(c => c is < '!' or > '~'))
        {
            return Malformed("malformed SCRAM message", "The client nonce is empty or not printable.");
        }

        // The user name in the message is ignored, as PostgreSQL does: the startup packet named it.
        _nonce = clientNonce + _serverNonce;
        _serverFirst = $"r={_nonce},s={Convert.ToBase64String(_secret.Salt)},i={_secret.Iterations}";
        return ScramStep.Continue(Encoding.ASCII.GetBytes(_serverFirst));
    }

    /// <summary>SASLResponse: the client-final message; success carries the server-final message and the recovered keys.</summary>
    public ScramStep HandleClientFinal(string clientFinal)
    {
        int proofAt = clientFinal.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofAt < 0)
        {
            return Malformed("malformed SCRAM message", "The client-final message has no proof.");
        }
        string withoutProof = clientFinal[..proofAt];
        string[] parts = withoutProof.Split(',');
        if (parts.Length != 2 || !parts[0].StartsWith("c=", StringComparison.Ordinal) || !parts[1].StartsWith("r=", StringComparison.Ordinal))
        {
            return Malformed("malformed SCRAM message", "The client-final message is not c=…,r=…,p=….");
        }
        if (!ScramAttributes.TryBase64(parts[0][2..], out byte[] binding) || !CryptographicOperations.FixedTimeEquals(binding, _expectedChannelBinding))
        {
            return Malformed("SCRAM channel binding check failed");
        }
        if (parts[1][2..] != _nonce)
        {
            return Malformed("malformed SCRAM message", "The nonce does not match.");
        }
        if (!ScramAttributes.TryBase64(clientFinal[(proofAt + 3)..], out byte[] proof) || proof.Length != 32)
        {
            return Malformed("malformed SCRAM message", "The proof is not 32 bytes of base64.");
        }

        byte[] authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{_serverFirst},{withoutProof}");
        byte[] clientKey = ScramMath.Xor(proof, Math.Hmac(_secret.StoredKey, authMessage));
        if (!CryptographicOperations.FixedTimeEquals(Math.StoredKey(clientKey), _secret.StoredKey) || _mock)
        {
            return ScramStep.Fail(AuthenticationFailure.For(_user));
        }

        byte[] serverFinal = Encoding.ASCII.GetBytes($"v={Convert.ToBase64String(Math.Hmac(_secret.ServerKey, authMessage))}");
        return new ScramStep(serverFinal, null, new ScramKeys(clientKey, _secret));
    }

    private static ScramStep Malformed(string message, string? detail = null) =>
        ScramStep.Fail(new PgError(SqlState.ProtocolViolation, message, detail));
}
