using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using PgRouter.Configuration;

namespace PgRouter.Tls;

/// <summary>
/// PgRouter's certificate for clients, from PEM files that are read again when they change (a
/// renewed certificate needs no restart), plus the CA that client certificates must chain to.
/// </summary>
internal sealed partial class CertificateStore(TlsOptions options, TimeProvider time, ILogger<CertificateStore> logger)
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);
    public static readonly SslApplicationProtocol Alpn = new("postgresql");

    private readonly Lock _reload = new();
    private Loaded? _current;
    private long _lastCheck;

    public bool IsConfigured => options.CertificateFile is not null;

    /// <summary>Handshake options and the channel binding of the certificate they carry.</summary>
    public (SslServerAuthenticationOptions Options, byte[] ChannelBinding) Current()
    {
        ReloadIfChanged();
        var loaded = Volatile.Read(ref _current)!;
        return (loaded.Options, loaded.ChannelBinding);
    }

    /// <summary>Reads the files now; at start an unreadable certificate is an error worth stopping for.</summary>
    public void Load()
    {
        lock (_reload)
        {
            Volatile.Write(ref _lastCheck, time.GetTimestamp());
            var stamp = Stamp();
            var certificates = new X509Certificate2Collection();
            certificates.ImportFromPemFile(options.CertificateFile!);
            using var withKey = X509Certificate2.CreateFromPemFile(options.CertificateFile!, options.KeyFile);
            // An ephemeral key cannot sign TLS handshakes everywhere; a PKCS#12 round trip makes it a normal one.
            var certificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
            var chain = new X509Certificate2Collection(certificates.Skip(1).ToArray());
            X509Certificate2Collection? clientCa = null;
            if (options.ClientCaFile is not null)
            {
                clientCa = [];
                clientCa.ImportFromPemFile(options.ClientCaFile);
            }

            var sslOptions = new SslServerAuthenticationOptions
            {
                ServerCertificateContext = SslStreamCertificateContext.Create(certificate, chain, offline: true),
                ApplicationProtocols = [Alpn],
                ClientCertificateRequired = clientCa is not null,
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is null || ChainsTo(presented, clientCa),
            };
            Volatile.Write(ref _current, new Loaded(sslOptions, ChannelBinding.TlsServerEndPoint(certificate), stamp));
            LogLoaded(options.CertificateFile!, certificate.Subject, certificate.NotAfter);
        }
    }

    /// <summary>A client certificate is good when it chains to the client CA (none configured: no certificate is good).</summary>
    private static bool ChainsTo(X509Certificate presented, X509Certificate2Collection? authorities)
    {
        if (authorities is null)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(presented as X509Certificate2 ?? new X509Certificate2(presented));
    }

    private void ReloadIfChanged()
    {
        long now = time.GetTimestamp();
        if (time.GetElapsedTime(Volatile.Read(ref _lastCheck), now) < CheckInterval)
        {
            return;
        }
        Volatile.Write(ref _lastCheck, now);
        try
        {
            if (Volatile.Read(ref _current)?.Stamp != Stamp())
            {
                Load();
            }
        }
        catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            LogReloadFailed(options.CertificateFile!, e.Message);
        }
    }

    private string Stamp() => string.Join('|', new[] { options.CertificateFile, options.KeyFile, options.ClientCaFile }
        .OfType<string>().Select(f => $"{f}@{File.GetLastWriteTimeUtc(f).Ticks}"));

    private sealed record Loaded(SslServerAuthenticationOptions Options, byte[] ChannelBinding, string Stamp);

    [LoggerMessage(800, LogLevel.Information, "TLS certificate {File} loaded: {Subject}, valid until {NotAfter:yyyy-MM-dd}")]
    private partial void LogLoaded(string file, string subject, DateTime notAfter);

    [LoggerMessage(801, LogLevel.Warning, "TLS certificate {File} could not be read again, the last one stays in use: {Error}")]
    private partial void LogReloadFailed(string file, string error);
}
