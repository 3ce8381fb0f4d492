using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using PgRouter.Configuration;
using PgRouter.Protocol;

namespace PgRouter.Tls;

/// <summary>
/// Asks a server for TLS (SSLRequest) right after connecting and checks its certificate as libpq's
/// sslmode would.
/// </summary>
internal sealed class ServerTlsConnector
{
    private static readonly byte[] SslRequest = FrontendMessages.SslRequest();
    private readonly ServerTlsMode _mode;
    private readonly X509Certificate2Collection? _authorities;

    public ServerTlsConnector(ServerTlsOptions options)
    {
        TlsModes.TryParseServer(options.Mode, out _mode);
        if (options.CaFile is not null)
        {
            _authorities = [];
            _authorities.ImportFromPemFile(options.CaFile);
        }
    }

    public static ServerTlsConnector Disabled { get; } = new(new ServerTlsOptions { Mode = "disable" });

    /// <summary>TLS over the socket, or null to go on in plain text; an error means the connection must not be used.</summary>
    /// <summary>Server connections stay plain TCP: no SSLRequest is sent.</summary>
    public bool IsDisabled => _mode == ServerTlsMode.Disable;

    public async Task<(Stream? Tls, string? Error)> NegotiateAsync(Socket socket, string host, CancellationToken cancellationToken)
    {
        if (_mode == ServerTlsMode.Disable)
        {
            return (null, null);
        }

        await socket.SendAsync(SslRequest, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        byte[] answer = new byte[1];
        if (await socket.ReceiveAsync(answer, SocketFlags.None, cancellationToken).ConfigureAwait(false) == 0)
        {
            return (null, "the server closed the connection after SSLRequest");
        }
        if (answer[0] != (byte)'S')
        {
            return _mode == ServerTlsMode.Prefer
                ? (null, null)
                : (null, $"the server does not accept TLS, and ServerTls:Mode is {Name(_mode)}");
        }

        var tls = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
        string? verification = null;
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => (verification = Verify(certificate, errors, host)) is null,
            }, cancellationToken).ConfigureAwait(false);
            return (tls, null);
        }
        catch (AuthenticationException e)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            return (null, $"TLS with the server failed: {verification ?? e.Message}");
        }
    }

    /// <summary>Null when the certificate is acceptable for the mode, else what is wrong with it.</summary>
    private string? Verify(X509Certificate? certificate, SslPolicyErrors errors, string host)
    {
        if (_mode is ServerTlsMode.Prefer or ServerTlsMode.Require)
        {
            return null;
        }
        if (certificate is null)
        {
            return "the server presented no certificate";
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_authorities!);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        var presented = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (!chain.Build(presented))
        {
            string status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Distinct());
            return $"the server certificate ({presented.Subject}) does not chain to ServerTls:CaFile: {status}";
        }
        if (_mode == ServerTlsMode.VerifyFull && errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return $"the server certificate ({presented.Subject}) does not name the host {host}";
        }
        return null;
    }

    private static string Name(ServerTlsMode mode) => mode switch
    {
        ServerTlsMode.VerifyCa => "verify-ca",
        ServerTlsMode.VerifyFull => "verify-full",
        _ => mode.ToString().ToLowerInvariant(),
    };
}
