using System.Text.Json.Nodes;
using PgRouter.Configuration;

namespace PgRouter.Admin;

/// <summary>
/// `pgrouter switchover|pause|resume --cluster NAME [...]`: the admin API from a shell. The admin
/// address comes from --admin, else from the same configuration the server reads.
/// </summary>
internal static class AdminCommand
{
    private const string Usage = """
        usage: pgrouter switchover --cluster NAME [--candidate MEMBER] [--drain-timeout SECONDS] [--admin URL]
               pgrouter pause --cluster NAME [--drain-timeout SECONDS] [--admin URL]
               pgrouter resume --cluster NAME [--admin URL]
        """;

    private static readonly string[] Verbs = ["switchover", "pause", "resume"];

    public static bool Handles(string[] args) => args.Length > 0 && Verbs.Contains(args[0]);

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new Dictionary<string, string>();
        for (int i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                return Fail($"unexpected argument {args[i]}");
            }
            options[args[i][2..]] = args[++i];
        }
        if (!options.TryGetValue("cluster", out string? cluster))
        {
            return Fail("--cluster is required");
        }
        if (options.Keys.Except(["cluster", "candidate", "drain-timeout", "admin", "config"]).FirstOrDefault() is { } unknown)
        {
            return Fail($"unknown option --{unknown}");
        }

        var query = new List<string>();
        if (options.TryGetValue("candidate", out string? candidate))
        {
            query.Add($"candidate={Uri.EscapeDataString(candidate)}");
        }
        if (options.TryGetValue("drain-timeout", out string? drain))
        {
            query.Add($"drainTimeout={Uri.EscapeDataString(drain)}");
        }
        string admin = options.GetValueOrDefault("admin") ?? AdminUrl(options.GetValueOrDefault("config"));
        var uri = new Uri($"{admin.TrimEnd('/')}/clusters/{Uri.EscapeDataString(cluster)}/{args[0]}{(query.Count > 0 ? "?" + string.Join('&', query) : "")}");

        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        try
        {
            using var response = await http.PostAsync(uri, null);
            var body = await response.Content.ReadFromJsonAsync<JsonObject>();
            Console.WriteLine($"pgrouter {args[0]}: {body?["message"]}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            Console.Error.WriteLine($"pgrouter {args[0]}: PgRouter's admin API at {admin} did not answer: {e.Message}");
            return 1;
        }
    }

    /// <summary>The first admin URL of the configuration, with a wildcard host made loopback.</summary>
    private static string AdminUrl(string? configFile)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.GetFullPath(configFile ?? "appsettings.json"), optional: configFile is null)
            .AddEnvironmentVariables()
            .Build();
        string urls = configuration[$"{PgRouterOptions.Section}:Admin:Urls"] ?? new AdminOptions().Urls!;
        var first = new UriBuilder(urls.Split(';')[0]);
        if (first.Host is "*" or "+" or "0.0.0.0" or "[::]")
        {
            first.Host = "127.0.0.1";
        }
        return first.Uri.ToString();
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"pgrouter: {message}");
        Console.Error.WriteLine(Usage);
        return 2;
    }
}
