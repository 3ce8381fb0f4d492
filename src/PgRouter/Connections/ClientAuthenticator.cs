using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using PgRouter.Authentication;
using PgRouter.Configuration;
using PgRouter.Protocol;
using PgRouter.Protocol.Authentication;
using PgRouter.Routing;
using PgRouter.Servers;

namespace PgRouter.Connections;

/// <summary>
/// PgRouter checks who the client is before any server is involved, with the method the listener
/// or database asks for, and comes out with the credentials to log in to servers as that user.
/// Every failed check gets the same 28P01, whatever failed.
/// </summary>
internal sealed partial class ClientAuthenticator(SecretStore secrets, LoginRateLimiter limiter, AuthOptions options, ILogger<ClientAuthenticator> logger)
{
    /// <summary>The credentials for server logins, or null when the client was refused (and told why).</summary>
    public async Task<ServerCredentials?> AuthenticateAsync(ClientConnection client, ClientRequest request, AuthMethod method, CancellationToken deadline)
    {
        string address = AddressOnly(client.Address);
        if (!limiter.Allows(address, out var retryAfter))
        {
            await client.RefuseAsync(new PgError(SqlState.InvalidPassword, $"too many failed logins from {address}",
                Hint: $"Try again in {Math.Ceiling(retryAfter.TotalSeconds):0} s."), request.User, request.Database).ConfigureAwait(false);
            return null;
        }

        if (method == AuthMethod.Trust)
        {
            LogTrusted(client.Address, request.User);
            return Credentials(request.User);
        }
        if (method == AuthMethod.Cert)
        {
            return await CertificateAsync(client, request).ConfigureAwait(false);
        }

        var lookup = await secrets.FindAsync(request.Route.Cluster, request.User, deadline).ConfigureAwait(false);
        if (lookup.Unavailable is { } why)
        {
            await client.RefuseAsync(new PgError(SqlState.CannotConnectNow, $"cannot check the password of user \"{request.User}\" now", why),
                request.User, request.Database).ConfigureAwait(false);
            return null;
        }

        // As in PostgreSQL: a user whose only secret is SCRAM gets SCRAM even where md5 is configured.
        var secret = lookup.Secret;
        if (method == AuthMethod.Md5 && secret is { Scram: not null })
        {
            method = AuthMethod.ScramSha256;
        }
        return method switch
        {
            AuthMethod.ScramSha256 => await ScramAsync(client, request, secret, deadline).ConfigureAwait(false),
            AuthMethod.Md5 => await Md5Async(client, request, secret, deadline).ConfigureAwait(false),
            _ => await CleartextAsync(client, request, secret, deadline).ConfigureAwait(false),
        };
    }

    private async Task<ServerCredentials?> ScramAsync(ClientConnection client, ClientRequest request, UserSecret? secret, CancellationToken deadline)
    {
        var exchange = new ScramServerExchange(secret?.ScramForVerification(request.User), request.User, client.Tls?.ChannelBinding);
        if (!await client.SendAsync(BackendMessages.AuthenticationSasl(ScramServerExchange.Mechanisms(client.Tls is not null))).ConfigureAwait(false)
            || await client.ReadPasswordMessageAsync(deadline).ConfigureAwait(false) is not { } initial)
        {
            return null;
        }
        if (!SaslInitialResponse.TryParse(initial, out string mechanism, out string clientFirst))
        {
            return await FailAsync(client, request, new PgError(SqlState.ProtocolViolation, "malformed SASLInitialResponse message"), "malformed SASL message").ConfigureAwait(false);
        }
        var first = exchange.HandleClientFirst(mechanism, clientFirst);
        if (first.Error is { } firstError)
        {
            return await FailAsync(client, request, firstError, firstError.Message).ConfigureAwait(false);
        }
        if (!await client.SendAsync(BackendMessages.Authentication(AuthenticationCode.SaslContinue, first.Message)).ConfigureAwait(false)
            || await client.ReadPasswordMessageAsync(deadline).ConfigureAwait(false) is not { } response)
        {
            return null;
        }
        var final = exchange.HandleClientFinal(Encoding.UTF8.GetString(response));
        if (final.Error is { } finalError)
        {
            return await FailAsync(client, request, finalError, Reason(secret, "wrong proof")).ConfigureAwait(false);
        }
        if (!await client.SendAsync(BackendMessages.Authentication(AuthenticationCode.SaslFinal, final.Message)).ConfigureAwait(false))
        {
            return null;
        }
        LogAuthenticated(client.Address, request.User, mechanism);
        return Credentials(request.User, secret!.Plain, secret.Md5, final.Keys);
    }

    private async Task<ServerCredentials?> Md5Async(ClientConnection client, ClientRequest request, UserSecret? secret, CancellationToken deadline)
    {
        byte[] salt = RandomNumberGenerator.GetBytes(4);
        if (!await client.SendAsync(BackendMessages.Authentication(AuthenticationCode.Md5Password, salt)).ConfigureAwait(false)
            || await client.ReadPasswordMessageAsync(deadline).ConfigureAwait(false) is not { } response)
        {
            return null;
        }
        string expected = secret?.Md5 is { } stored ? Md5Password.Response(stored, salt) : "";
        if (secret?.Md5 is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected + "\0"), response))
        {
            return await FailAsync(client, request, AuthenticationFailure.For(request.User), Reason(secret, "wrong md5 response")).ConfigureAwait(false);
        }
        LogAuthenticated(client.Address, request.User, "md5");
        return Credentials(request.User, secret.Plain, secret.Md5);
    }

    /// <summary>The password method: the password itself, which only a TLS listener may ask for.</summary>
    private async Task<ServerCredentials?> CleartextAsync(ClientConnection client, ClientRequest request, UserSecret? secret, CancellationToken deadline)
    {
        if (client.Tls is null)
        {
            await client.RefuseAsync(new PgError(SqlState.InvalidAuthorizationSpecification, "password authentication requires TLS"), request.User, request.Database).ConfigureAwait(false);
            return null;
        }
        if (!await client.SendAsync(BackendMessages.Authentication(AuthenticationCode.CleartextPassword, [])).ConfigureAwait(false)
            || await client.ReadPasswordMessageAsync(deadline).ConfigureAwait(false) is not { } response)
        {
            return null;
        }
        string password = Encoding.UTF8.GetString(response).TrimEnd('\0');
        if (secret is null || !secret.Matches(request.User, password))
        {
            return await FailAsync(client, request, AuthenticationFailure.For(request.User), Reason(secret, "wrong password")).ConfigureAwait(false);
        }
        LogAuthenticated(client.Address, request.User, "password");
        return Credentials(request.User, password);
    }

    private async Task<ServerCredentials?> CertificateAsync(ClientConnection client, ClientRequest request)
    {
        if (client.Tls?.ClientCertificate is not { } certificate)
        {
            return await FailAsync(client, request, new PgError(SqlState.InvalidAuthorizationSpecification, "connection requires a valid client certificate"), "no client certificate").ConfigureAwait(false);
        }
        string commonName = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (commonName != request.User)
        {
            return await FailAsync(client, request, new PgError(SqlState.InvalidAuthorizationSpecification, $"certificate authentication failed for user \"{request.User}\"",
                $"The certificate's common name is \"{commonName}\"."), "certificate of another user").ConfigureAwait(false);
        }
        LogAuthenticated(client.Address, request.User, "cert");
        return Credentials(request.User);
    }

    /// <summary>
    /// What PgRouter logs in to servers with: what the client's own login yielded (SCRAM keys, its
    /// password); otherwise the operator's password for that user, or the one server user for all.
    /// </summary>
    private ServerCredentials Credentials(string user, string? password = null, string? md5 = null, ScramKeys? keys = null)
    {
        if (keys is not null || password is not null)
        {
            return new ServerCredentials(user, password, md5, keys);
        }
        if (options.ServerUsers.TryGetValue(user, out var configured))
        {
            return new ServerCredentials(user, configured.Password, md5);
        }
        if (options.ServerUser is { User: { } mapped } single)
        {
            return new ServerCredentials(mapped, single.Password);
        }
        return new ServerCredentials(user, Md5Hash: md5);
    }

    private async Task<ServerCredentials?> FailAsync(ClientConnection client, ClientRequest request, PgError error, string reason)
    {
        if (error.SqlState is SqlState.InvalidPassword or SqlState.InvalidAuthorizationSpecification)
        {
            limiter.RecordFailure(AddressOnly(client.Address));
        }
        LogFailed(client.Address, request.User, reason);
        await client.RefuseAsync(error, request.User, request.Database).ConfigureAwait(false);
        return null;
    }

    /// <summary>For the log only: the client hears the same words whatever the reason.</summary>
    private static string Reason(UserSecret? secret, string otherwise) => secret switch
    {
        null => "unknown user",
        { Scram: null, Plain: null } when otherwise == "wrong proof" => "only an md5 hash is known, SCRAM cannot be checked",
        _ => otherwise,
    };

    private static string AddressOnly(string endPoint) =>
        IPEndPoint.TryParse(endPoint, out var parsed) ? parsed.Address.ToString() : endPoint;

    [LoggerMessage(120, LogLevel.Warning, "client {Client}: user {User} logged in WITHOUT any check (trust): only for a loopback demo")]
    private partial void LogTrusted(string client, string user);

    [LoggerMessage(121, LogLevel.Debug, "client {Client}: user {User} authenticated ({Method})")]
    private partial void LogAuthenticated(string client, string user, string method);

    [LoggerMessage(122, LogLevel.Warning, "client {Client}: authentication of user {User} failed: {Reason}")]
    private partial void LogFailed(string client, string user, string reason);
}
