using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Logging.Console;
using PgRouter.Admin;
using PgRouter.Configuration;
using PgRouter.Hosting;
using PgRouter.Pooling;
using PgRouter.Topology;
using PgRouter.Transport.Epoll;

if (AdminCommand.Handles(args))
{
    return await AdminCommand.RunAsync(args);
}

// Socket continuations run on the I/O thread that completed them: a message crosses PgRouter
// without a thread-pool hop. Read once, before the first socket exists.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = Directory.GetCurrentDirectory() });
if (builder.Configuration["config"] is { } configFile)
{
    // --config FILE takes the place of ./appsettings.json; environment variables and the command line still win.
    var sources = builder.Configuration.Sources;
    int index = sources.ToList().FindIndex(s => s is JsonConfigurationSource);
    foreach (var json in sources.OfType<JsonConfigurationSource>().ToList())
    {
        sources.Remove(json);
    }
    var file = new JsonConfigurationSource { Path = Path.GetFullPath(configFile), Optional = false };
    file.ResolveFileProvider();
    sources.Insert(Math.Max(index, 0), file);
}

var options = builder.Configuration.GetSection(PgRouterOptions.Section).Get<PgRouterOptions>() ?? new PgRouterOptions();
var problems = PgRouterOptionsValidator.Validate(options);
if (problems.Count > 0)
{
    Console.Error.WriteLine("pgrouter: the configuration needs fixing:");
    foreach (string problem in problems)
    {
        Console.Error.WriteLine($"  - {problem}");
    }
    return 2;
}

builder.Logging.ClearProviders();
builder.Logging.AddConsole(console =>
{
    console.FormatterName = OperatorLogFormatter.FormatterName;
    console.QueueFullMode = ConsoleLoggerQueueFullMode.DropWrite;
});
builder.Logging.AddConsoleFormatter<OperatorLogFormatter, ConsoleFormatterOptions>();
builder.WebHost.UseUrls(options.Admin.Urls!.Split(';'));
builder.Services.AddPgRouter(options);

var app = builder.Build();
// Before the first socket: the loops start with it.
EventLoop.Configure(options.Connections.IoThreads, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<EventLoop>());
AdminEndpoints.Map(app, app.Services.GetRequiredService<TopologyStore>(), app.Services.GetRequiredService<PoolRegistry>(),
    app.Services.GetRequiredService<ClusterControl>());
try
{
    await app.RunAsync();
}
catch (InvalidOperationException e) when (e.InnerException is System.Net.Sockets.SocketException)
{
    Console.Error.WriteLine($"pgrouter: {e.Message}");
    return 1;
}
return 0;
