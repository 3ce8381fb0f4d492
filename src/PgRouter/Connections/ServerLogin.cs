using System.Buffers.Binary;
using System.Text;
using PgRouter.Protocol;
using PgRouter.Protocol.Authentication;

namespace PgRouter.Connections;

/// <summary>The outcome of PgRouter logging in to a server on its own account.</summary>
internal sealed record LoginResult(bool Succeeded, string? Error, IReadOnlyDictionary<string, string> Parameters)
{
    public static LoginResult Failed(string error) => new(false, error, new Dictionary<string, string>());
}

/// <summary>
/// Logs in to a server as PgRouter itself (probes now, pooled connections later): startup, then
/// whatever method the server asks for among cleartext, md5 and SCRAM-SHA-256, then the parameter
/// burst up to ReadyForQuery.
/// </summary>
internal static class ServerLogin
{
    public static async Task<LoginResult> LoginAsync(ServerConnection server, string user, string? password, string database, string applicationName, CancellationToken cancellationToken)
    {
        var parameters = new StartupParameters();
        parameters.Set("user", user);
        parameters.Set("database", database);
        parameters.Set("application_name", applicationName);
        if (!await server.Transport.SendAsync(FrontendMessages.StartupMessage(parameters)).ConfigureAwait(false))
        {
            return LoginResult.Failed("the server closed the connection");
        }

        ScramSha256Client? scram = null;
        var statuses = new Dictionary<string, string>();
        while (true)
        {
            if (await ServerMessages.ReadAsync(server.Input, cancellationToken).ConfigureAwait(false) is not { } message)
            {
                return LoginResult.Failed("the server closed the connection during login");
            }

            byte[]? reply = null;
            switch (message.Type)
            {
                case BackendMessage.ErrorResponse:
                    return LoginResult.Failed(BackendMessageParser.ErrorResponse(message.Frame).ToString());
                case BackendMessage.ParameterStatus:
                    var (name, value) = BackendMessageParser.ParameterStatus(message.Frame);
                    statuses[name] = value;
                    break;
                case BackendMessage.ReadyForQuery:
                    return new LoginResult(true, null, statuses);
                case BackendMessage.Authentication:
                    int code = BinaryPrimitives.ReadInt32BigEndian(message.Body);
                    var data = message.Body.AsSpan(4);
                    if (code == AuthenticationCode.Ok)
                    {
                        break;
                    }
                    if (password is null)
                    {
                        return LoginResult.Failed($"the server asks for a password (authentication method {code}) and none is configured");
                    }
                    switch (code)
                    {
                        case AuthenticationCode.CleartextPassword:
                            reply = FrontendMessages.Password(Encoding.UTF8.GetBytes(password + "\0"));
                            break;
                        case AuthenticationCode.Md5Password:
                            reply = FrontendMessages.Password(Encoding.UTF8.GetBytes(Md5Password.Hash(user, password, data) + "\0"));
                            break;
                        case AuthenticationCode.Sasl:
                            if (!Encoding.UTF8.GetString(data).Split('\0').Contains(ScramSha256Client.Mechanism))
                            {
                                return LoginResult.Failed("the server offers no SASL mechanism PgRouter supports");
                            }
                            scram = new ScramSha256Client(password);
                            reply = FrontendMessages.SaslInitialResponse(ScramSha256Client.Mechanism, scram.ClientFirstMessage());
                            break;
                        case AuthenticationCode.SaslContinue when scram is not null:
                            if (!scram.TryCreateClientFinalMessage(Encoding.UTF8.GetString(data), out byte[] final, out string? error))
                            {
                                return LoginResult.Failed(error!);
                            }
                            reply = FrontendMessages.Password(final);
                            break;
                        case AuthenticationCode.SaslFinal when scram is not null:
                            if (!scram.VerifyServerFinalMessage(Encoding.UTF8.GetString(data)))
                            {
                                return LoginResult.Failed("the server's SCRAM signature is wrong: it does not know the password");
                            }
                            break;
                        default:
                            return LoginResult.Failed($"authentication method {code} is not supported");
                    }
                    break;
            }

            if (reply is not null && !await server.Transport.SendAsync(reply).ConfigureAwait(false))
            {
                return LoginResult.Failed("the server closed the connection during login");
            }
        }
    }
}
