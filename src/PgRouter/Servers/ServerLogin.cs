using System.Buffers.Binary;
using System.Text;
using PgRouter.Protocol;
using PgRouter.Protocol.Authentication;

namespace PgRouter.Servers;

/// <summary>What a server said at the end of a successful login, or why it refused.</summary>
internal sealed record LoginResult(
    PgError? Error,
    IReadOnlyList<KeyValuePair<string, string>> Parameters,
    CancelKey? BackendKey,
    TransactionStatus Status)
{
    public bool Succeeded => Error is null;

    public string? Parameter(string name) => Parameters.LastOrDefault(p => p.Key == name).Value;

    public static LoginResult Failed(PgError error) => new(error, [], null, TransactionStatus.Idle);
}

/// <summary>
/// Logs in to a server as PgRouter itself: startup, then whatever method the server asks for
/// (cleartext, md5, SCRAM-SHA-256) with whatever credentials PgRouter holds, then the parameter
/// burst up to ReadyForQuery.
/// </summary>
internal static class ServerLogin
{
    public static async Task<LoginResult> LoginAsync(ServerConnection server, StartupParameters parameters, ServerCredentials credentials, CancellationToken cancellationToken)
    {
        if (!await server.Transport.SendAsync(FrontendMessages.StartupMessage(parameters)).ConfigureAwait(false))
        {
            return Refused("the server closed the connection");
        }

        ScramSha256Client? scram = null;
        var statuses = new List<KeyValuePair<string, string>>();
        CancelKey? backendKey = null;
        while (true)
        {
            if (await ServerMessages.ReadAsync(server.Input, cancellationToken).ConfigureAwait(false) is not { } message)
            {
                return Refused("the server closed the connection during login");
            }

            byte[]? reply = null;
            switch (message.Type)
            {
                case BackendMessage.ErrorResponse:
                    return LoginResult.Failed(BackendMessageParser.ErrorResponse(message.Frame));
                case BackendMessage.ParameterStatus:
                    statuses.Add(BackendMessageParser.ParameterStatus(message.Frame));
                    break;
                case BackendMessage.BackendKeyData when message.Body.Length == 8:
                    backendKey = BackendMessageParser.BackendKeyData(message.Frame);
                    break;
                case BackendMessage.ReadyForQuery:
                    return new LoginResult(null, statuses, backendKey, BackendMessageParser.ReadyForQueryStatus(message.Frame));
                case BackendMessage.Authentication:
                    int code = BinaryPrimitives.ReadInt32BigEndian(message.Body);
                    string? problem = Answer(code, message.Body.AsSpan(4), credentials, ref scram, out reply);
                    if (problem is not null)
                    {
                        return Refused(problem);
                    }
                    break;
            }

            if (reply is not null && !await server.Transport.SendAsync(reply).ConfigureAwait(false))
            {
                return Refused("the server closed the connection during login");
            }
        }
    }

    /// <summary>The reply to one authentication request, or why PgRouter cannot give one.</summary>
    private static string? Answer(int code, ReadOnlySpan<byte> data, ServerCredentials credentials, ref ScramSha256Client? scram, out byte[]? reply)
    {
        reply = null;
        switch (code)
        {
            case AuthenticationCode.Ok:
                return null;
            case AuthenticationCode.CleartextPassword when credentials.Password is { } password:
                reply = FrontendMessages.Password(Encoding.UTF8.GetBytes(password + "\0"));
                return null;
            case AuthenticationCode.Md5Password when credentials.Password is not null || credentials.Md5Hash is not null:
                string hash = credentials.Md5Hash ?? Md5Password.Stored(credentials.User, credentials.Password!);
                reply = FrontendMessages.Password(Encoding.UTF8.GetBytes(Md5Password.Response(hash, data) + "\0"));
                return null;
            case AuthenticationCode.Sasl when credentials.Keys is not null || credentials.Password is not null:
                if (!Encoding.UTF8.GetString(data).Split('\0').Contains(ScramSha256Client.Mechanism))
                {
                    return "the server offers no SASL mechanism PgRouter supports";
                }
                scram = credentials.Keys is { } keys ? new ScramSha256Client(keys) : new ScramSha256Client(credentials.Password!);
                reply = FrontendMessages.SaslInitialResponse(ScramSha256Client.Mechanism, scram.ClientFirstMessage());
                return null;
            case AuthenticationCode.SaslContinue when scram is not null:
                if (!scram.TryCreateClientFinalMessage(Encoding.UTF8.GetString(data), out byte[] final, out string? error))
                {
                    return error;
                }
                reply = FrontendMessages.Password(final);
                return null;
            case AuthenticationCode.SaslFinal when scram is not null:
                return scram.VerifyServerFinalMessage(Encoding.UTF8.GetString(data))
                    ? null
                    : "the server's SCRAM signature is wrong: it does not know the user's secret";
            case AuthenticationCode.CleartextPassword or AuthenticationCode.Md5Password or AuthenticationCode.Sasl:
                return $"the server asks for {MethodName(code)} and PgRouter holds no {(code == AuthenticationCode.Sasl ? "password or SCRAM keys" : "password")} for {credentials.User}";
            default:
                return $"authentication method {code} is not supported";
        }
    }

    private static string MethodName(int code) => code switch
    {
        AuthenticationCode.CleartextPassword => "a cleartext password",
        AuthenticationCode.Md5Password => "an md5 password",
        _ => "SCRAM",
    };

    private static LoginResult Refused(string why) =>
        LoginResult.Failed(new PgError(SqlState.SqlServerRejectedEstablishment, $"PgRouter could not log in to the server: {why}"));
}
