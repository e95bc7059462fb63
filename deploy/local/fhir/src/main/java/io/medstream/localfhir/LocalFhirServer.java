package io.medstream.localfhir;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.provider.IJpaSystemProvider;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;

/**
 * A local HAPI FHIR R4 JPA server on 127.0.0.1: {@code http://127.0.0.1:PORT/fhir}.
 *
 * <pre>
 * java -Xmx1g -cp 'lib/*' io.medstream.localfhir.LocalFhirServer --port 8080 --data-dir ./data/fhir [--persist]
 * </pre>
 *
 * <p>{@code --persist} keeps the H2 database in {@code <data dir>/h2}; without it the database is
 * in memory and gone when the JVM stops. Logs (WARN and up) go to {@code <data dir>/fhir.log}.
 * Prints {@code LOCAL_FHIR_READY <base url>} on stdout once the server answers; SIGTERM stops
 * Jetty and closes the Spring context.
 */
public final class LocalFhirServer {
  private LocalFhirServer() {}

  public static void main(String[] args) throws Exception {
    int port = 8080;
    String dataDir = "data/fhir";
    boolean persist = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> port = Integer.parseInt(args[++i]);
        case "--data-dir" -> dataDir = args[++i];
        case "--persist" -> persist = true;
        default -> {
          System.err.println("unknown argument: " + args[i]);
          System.err.println("usage: LocalFhirServer [--port N] [--data-dir DIR] [--persist]");
          System.exit(2);
        }
      }
    }
    Path data = Path.of(dataDir).toAbsolutePath();
    Files.createDirectories(data);
    if (System.getProperty("medstream.fhir.logFile") == null) {
      System.setProperty("medstream.fhir.logFile", data.resolve("fhir.log").toString());
    }
    // HAPI's validator and Hibernate log through jboss-logging / slf4j: route both to logback.
    System.setProperty("org.jboss.logging.provider", "slf4j");
    Logger log = LoggerFactory.getLogger(LocalFhirServer.class);

    if (persist) {
      LocalFhirConfig.jdbcUrl =
          "jdbc:h2:file:"
              + data.resolve("h2").resolve("hapi")
              + ";DB_CLOSE_ON_EXIT=FALSE;TRACE_LEVEL_FILE=0";
    }

    long t0 = System.nanoTime();
    AnnotationConfigApplicationContext spring = new AnnotationConfigApplicationContext();
    spring.register(LocalFhirConfig.class);
    spring.refresh();
    long springMs = (System.nanoTime() - t0) / 1_000_000;

    RestfulServer fhir = restfulServer(spring);
    Server jetty = new Server();
    ServerConnector connector = new ServerConnector(jetty);
    connector.setHost("127.0.0.1");
    connector.setPort(port);
    jetty.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler();
    context.setContextPath("/");
    ServletHolder holder = new ServletHolder("fhir", fhir);
    holder.setInitOrder(1);
    context.addServlet(holder, "/fhir/*");
    jetty.setHandler(context);
    jetty.setStopAtShutdown(false);

    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    jetty.stop();
                  } catch (Exception e) {
                    log.warn("stopping Jetty: {}", e.toString());
                  }
                  spring.close();
                },
                "local-fhir-shutdown"));

    jetty.start();
    long totalMs = (System.nanoTime() - t0) / 1_000_000;
    String baseUrl = "http://127.0.0.1:" + connector.getLocalPort() + "/fhir";
    log.info("local HAPI FHIR ready at {} (spring {} ms, total {} ms)", baseUrl, springMs, totalMs);
    System.out.println("LOCAL_FHIR_READY " + baseUrl + " " + totalMs + "ms");
    System.out.flush();
    jetty.join();
  }

  private static RestfulServer restfulServer(AnnotationConfigApplicationContext spring) {
    FhirContext ctx = spring.getBean(FhirContext.class);
    IFhirSystemDao<?, ?> systemDao = spring.getBean(IFhirSystemDao.class);
    RestfulServer server = new RestfulServer(ctx);
    server.registerProviders(spring.getBean(ResourceProviderFactory.class).createProviders());
    server.registerProvider(spring.getBean(IJpaSystemProvider.class));
    server.setPagingProvider(spring.getBean(DatabaseBackedPagingProvider.class));
    JpaCapabilityStatementProvider capabilities =
        new JpaCapabilityStatementProvider(
            server,
            systemDao,
            spring.getBean(JpaStorageSettings.class),
            spring.getBean(ISearchParamRegistry.class),
            spring.getBean(IValidationSupport.class));
    capabilities.setImplementationDescription("medstream local HAPI FHIR R4 server");
    server.setServerConformanceProvider(capabilities);
    server.setDefaultResponseEncoding(EncodingEnum.JSON);
    server.setDefaultPrettyPrint(false);
    return server;
  }

}
