namespace PgRouter.IntegrationTests.Support;

/// <summary>Test certificates made with openssl, as an operator would make them.</summary>
internal static class Certificates
{
    /// <summary>A new CA in the directory: ca.crt and ca.key.</summary>
    public static async Task CreateCaAsync(string directory, string name)
    {
        Directory.CreateDirectory(directory);
        await OpensslAsync("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", Path.Combine(directory, "ca.key"));
        await OpensslAsync("req", "-x509", "-new", "-key", Path.Combine(directory, "ca.key"), "-out", Path.Combine(directory, "ca.crt"),
            "-days", "30", "-subj", $"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    }

    /// <summary>A certificate signed by the CA in <paramref name="caDirectory"/>, written to NAME.crt and NAME.key.</summary>
    public static async Task IssueAsync(string caDirectory, string directory, string name, string subject, string extensions)
    {
        string key = Path.Combine(directory, name + ".key"), request = Path.Combine(directory, name + ".csr"), config = Path.Combine(directory, name + ".ext");
        await File.WriteAllTextAsync(config, extensions + "\n");
        await OpensslAsync("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key);
        await OpensslAsync("req", "-new", "-key", key, "-subj", subject, "-out", request);
        await OpensslAsync("x509", "-req", "-in", request, "-CA", Path.Combine(caDirectory, "ca.crt"), "-CAkey", Path.Combine(caDirectory, "ca.key"),
            "-CAcreateserial", "-days", "30", "-extfile", config, "-out", Path.Combine(directory, name + ".crt"));
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private static async Task OpensslAsync(params string[] arguments)
    {
        var result = await Commands.RunAsync("openssl", arguments, TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl {string.Join(' ', arguments)}: {result.Output}");
        }
    }
}
