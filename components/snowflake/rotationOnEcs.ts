/**
 * `dbwarden:snowflake:KeyRotationOnEcs`: the Snowflake key-rotation job of one target on an ECS
 * host, from the MCP server's image (`node dist/snowflake-rotator.js`, mcp-server/src/
 * snowflake-rotator.ts):
 * - a Fargate task definition whose entry point is the job (the image's CMD is dropped with it),
 *   with its configuration in its environment (no credential: it names secrets);
 * - its own task role, allowed only to read and write the target's key secrets and read the admin
 *   secret; its own execution role (write its log group, pull the image from its ECR repository);
 * - its own security group (HTTPS out only: Snowflake through the NAT whose addresses the network
 *   policy admits, and Secrets Manager), and its log group with the target's retention;
 * - an EventBridge Scheduler schedule, `rate(<rotationDays> days)`, starting the task on the MCP
 *   service's cluster, with a role the scheduler assumes that may only run that task definition on
 *   that cluster and pass its two roles to ECS.
 */
import * as pulumi from "@pulumi/pulumi";
import { LogGroup } from "@pulumi/aws/cloudwatch/logGroup.js";
import { SecurityGroup } from "@pulumi/aws/ec2/securityGroup.js";
import { TaskDefinition } from "@pulumi/aws/ecs/taskDefinition.js";
import { Role } from "@pulumi/aws/iam/role.js";
import { RolePolicy } from "@pulumi/aws/iam/rolePolicy.js";
import { Schedule } from "@pulumi/aws/scheduler/schedule.js";
import { SecurityGroupEgressRule } from "@pulumi/aws/vpc/securityGroupEgressRule.js";
import { SNOWFLAKE_ROTATION_ENV, SNOWFLAKE_ROTATOR_COMMAND, type SnowflakeRotationConfig } from "../../src/plan/types.ts";
import { keyRotationJobName, keyRotationRoleNamePrefix } from "../../src/names/aws.ts";
import { CONTAINER_USER, executionRolePolicy } from "../aws-ecs/mcpService.ts";
import { cloudWatchRetentionDays } from "../aws-ecs/logging.ts";
import { awsRotationRate } from "./rotationJob.ts";

/** The job's container name. */
export const ROTATOR_CONTAINER_NAME = "snowflake-rotator";

export interface SnowflakeKeyRotationOnEcsArgs {
  environment: string;
  /** The Snowflake target's name. */
  target: string;
  region: string;
  /** The MCP service's VPC and private subnets (their NAT's addresses are what the network policy admits). */
  vpcId: string;
  subnetIds: string[];
  /** The MCP service's cluster: the schedule runs the task there. */
  clusterArn: pulumi.Input<string>;
  /** The MCP server's image, and its ECR repository when it is in one (the execution role pulls from it alone). */
  image: pulumi.Input<string>;
  imageRepositoryArn: pulumi.Input<string | null>;
  /** The job's configuration (rotationJob.ts `rotationJobConfig`). */
  config: pulumi.Input<SnowflakeRotationConfig>;
  /** The logins' key secrets: the task role reads and writes exactly these. */
  keySecretArns: pulumi.Input<string>[];
  /** The deployer's key-pair login: the task role reads it. */
  adminSecretArn: string;
  /** `credentials.rotationDays`. */
  rotationDays: number;
  /** The job's log retention (the target's `logging.retentionDays`). */
  logRetentionDays: number;
  /** The environment's shared tags (owner, workflow...): every taggable resource of the job carries them. */
  tags?: Record<string, string>;
}

/** The job's task role: read and write its key secrets, read the admin secret; nothing else. */
export function keyRotationTaskPolicy(keySecretArns: readonly string[], adminSecretArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "RotateKeySecrets",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"],
        Resource: [...keySecretArns].sort(),
      },
      { Sid: "ReadAdminSecret", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [adminSecretArn] },
    ],
  });
}

/** The scheduler's role: run exactly this task definition on exactly this cluster, and pass its two roles to ECS. */
export function keyRotationSchedulerPolicy(taskDefinitionArn: string, clusterArn: string, roleArns: readonly string[]): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "RunRotationTask",
        Effect: "Allow",
        Action: ["ecs:RunTask"],
        Resource: [taskDefinitionArn],
        Condition: { ArnEquals: { "ecs:cluster": clusterArn } },
      },
      {
        Sid: "PassRotationRoles",
        Effect: "Allow",
        Action: ["iam:PassRole"],
        Resource: [...roleArns].sort(),
        Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
      },
    ],
  });
}

/** Trust of a role assumed by one AWS service; the scheduler's only from schedules of the cluster's account. */
function trust(service: string, account?: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: service },
        Action: "sts:AssumeRole",
        ...(account ? { Condition: { StringEquals: { "aws:SourceAccount": account } } } : {}),
      },
    ],
  });
}

/** The job's container: the server's image with the job as its entry point, its configuration in env, read-only, no capabilities. */
export function keyRotationContainers(args: { image: string; config: SnowflakeRotationConfig; logGroupName: string; region: string }): string {
  return JSON.stringify([
    {
      name: ROTATOR_CONTAINER_NAME,
      image: args.image,
      essential: true,
      // ECS's entryPoint replaces the image's ENTRYPOINT (the server) and drops its CMD.
      entryPoint: [...SNOWFLAKE_ROTATOR_COMMAND],
      user: CONTAINER_USER,
      readonlyRootFilesystem: true,
      privileged: false,
      linuxParameters: { initProcessEnabled: true, capabilities: { drop: ["ALL"] } },
      environment: [
        { name: SNOWFLAKE_ROTATION_ENV, value: JSON.stringify(args.config) },
        { name: "NODE_ENV", value: "production" },
      ],
      mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
      logConfiguration: {
        logDriver: "awslogs",
        options: { "awslogs-group": args.logGroupName, "awslogs-region": args.region, "awslogs-stream-prefix": "rotation" },
      },
    },
  ]);
}

export class SnowflakeKeyRotationOnEcs extends pulumi.ComponentResource {
  /** The schedule that starts the job. */
  public readonly scheduleArn: pulumi.Output<string>;
  /** The job's task definition (run it by hand: `aws ecs run-task`). */
  public readonly taskDefinitionArn: pulumi.Output<string>;

  constructor(name: string, args: SnowflakeKeyRotationOnEcsArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:snowflake:KeyRotationOnEcs", name, {}, opts);
    const parent = { parent: this };
    const { environment, target } = args;
    const jobName = keyRotationJobName(environment, target);
    const logGroup = new LogGroup(
      `${name}-log`,
      {
        name: `/dbwarden/${environment}/snowflake-key-rotation/${target}`,
        retentionInDays: cloudWatchRetentionDays(args.logRetentionDays, `targets.${target}.logging.retentionDays`),
        tags: args.tags,
      },
      { parent: this, retainOnDelete: true },
    );
    const securityGroup = new SecurityGroup(
      name,
      {
        vpcId: args.vpcId,
        description: `dbwarden ${environment} ${target}: the Snowflake key-rotation job (HTTPS out only)`,
        revokeRulesOnDelete: true,
        tags: args.tags,
      },
      parent,
    );
    const egress = new SecurityGroupEgressRule(
      `${name}-out-https`,
      {
        securityGroupId: securityGroup.id,
        ipProtocol: "tcp",
        fromPort: 443,
        toPort: 443,
        cidrIpv4: "0.0.0.0/0",
        description: "Snowflake and Secrets Manager",
        tags: args.tags,
      },
      parent,
    );
    const role = (suffix: "exec" | "task" | "sched", service: string, description: string, policy: pulumi.Input<string>, account?: pulumi.Input<string>) => {
      const created = new Role(
        `${name}-${suffix}`,
        {
          namePrefix: keyRotationRoleNamePrefix(environment, target, suffix),
          assumeRolePolicy: pulumi.output(account).apply((a) => trust(service, a)),
          description,
          tags: args.tags,
        },
        parent,
      );
      return { role: created, policy: new RolePolicy(`${name}-${suffix}`, { role: created.id, policy }, parent) };
    };
    const execution = role(
      "exec",
      "ecs-tasks.amazonaws.com",
      "dbwarden Snowflake key rotation: pull the image, write its log",
      pulumi.all([logGroup.arn, args.imageRepositoryArn]).apply(([log, repository]) => executionRolePolicy(log, repository)),
    );
    const task = role(
      "task",
      "ecs-tasks.amazonaws.com",
      "dbwarden Snowflake key rotation: its target's key secrets and the admin secret only",
      pulumi.all(args.keySecretArns).apply((arns) => keyRotationTaskPolicy(arns, args.adminSecretArn)),
    );
    const taskDefinition = new TaskDefinition(
      name,
      {
        family: jobName,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
        executionRoleArn: execution.role.arn,
        taskRoleArn: task.role.arn,
        volumes: [{ name: "tmp" }],
        tags: args.tags,
        containerDefinitions: pulumi
          .all([args.image, args.config, logGroup.name])
          .apply(([image, config, logGroupName]) => keyRotationContainers({ image, config, logGroupName, region: args.region })),
      },
      parent,
    );
    const scheduler = role(
      "sched",
      "scheduler.amazonaws.com",
      "dbwarden Snowflake key rotation: EventBridge Scheduler runs the job's task",
      pulumi
        .all([taskDefinition.arn, args.clusterArn, execution.role.arn, task.role.arn])
        .apply(([definition, cluster, ...roles]) => keyRotationSchedulerPolicy(definition, cluster, roles)),
      pulumi.output(args.clusterArn).apply((arn) => arn.split(":")[4]!),
    );
    const schedule = new Schedule(
      name,
      {
        name: jobName,
        description: `dbwarden ${environment}: rotate the Snowflake keys of target ${target} every ${args.rotationDays} days`,
        scheduleExpression: awsRotationRate(args.rotationDays),
        scheduleExpressionTimezone: "UTC",
        flexibleTimeWindow: { mode: "OFF" },
        state: "ENABLED",
        target: {
          arn: args.clusterArn,
          roleArn: scheduler.role.arn,
          ecsParameters: {
            taskDefinitionArn: taskDefinition.arn,
            launchType: "FARGATE",
            platformVersion: "LATEST",
            taskCount: 1,
            networkConfiguration: { subnets: args.subnetIds, securityGroups: [securityGroup.id], assignPublicIp: false },
          },
          // Retries of the start only; a failed run leaves every key working and the next run rotates it.
          retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
        },
      },
      { parent: this, dependsOn: [scheduler.policy, task.policy, execution.policy, egress] },
    );
    this.scheduleArn = schedule.arn;
    this.taskDefinitionArn = taskDefinition.arn;
    this.registerOutputs({ scheduleArn: this.scheduleArn, taskDefinitionArn: this.taskDefinitionArn });
  }
}
